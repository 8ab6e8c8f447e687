package moodle

// \core\event\user_graded, which logstore_xapi v5 does not map: a grade
// given to a user in the gradebook (by a teacher, an override, or a module
// pushing its grade).
//
// Designed in the plugin's style (compare mod_quiz attempt_submitted and
// course_module_completion_updated):
//   - actor: the graded user (relateduserid); verb: scored
//     (https://w3id.org/xapi/tla/verbs/scored);
//   - object: what the grade item grades: the course module for a "mod"
//     item (with its section and course as parents, like the plugin's module
//     events), the course for the course total, and for a manual item or a
//     category total a gradebook item activity
//     ({wwwroot}/grade/edit/tree/item.php?courseid=C&id=ITEM, type
//     assessment, named by the item or category) with the course as parent;
//   - result.score: raw = the final grade capped to min..max (the plugin's
//     cap_raw_score), min/max = grade_grades.rawgrademin/rawgrademax (the
//     item's grademin/grademax when NULL), scaled as the plugin scales quiz
//     scores (-1..1, or 0..1 with Options.ScaledZeroOne);
//     result.success = final >= gradepass, only when the item has a pass
//     grade (gradepass > 0);
//   - context: course language, the grader (userid) as instructor when it
//     is not the graded user, the site as category.
//
// The final grade is the event's other.finalgrade (the grade when the event
// happened; grade_grades holds only the latest), else grade_grades.finalgrade.
// Skipped: a NULL final grade (a grade removed or not yet given), and items
// graded with no grade or with text only (gradetype 0 or 3).
func coreUserGraded(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "relateduserid")
	if err != nil {
		return nil, err
	}
	grade, err := ReadRecordByID(c.Repo, "grade_grades", ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	other, err := Other(ev)
	if err != nil {
		return nil, err
	}
	finalRow := grade
	if _, ok := other["finalgrade"]; ok {
		finalRow = Row(other)
	}
	final, ok := finalRow.Float("finalgrade")
	if !ok {
		return nil, skip("user_graded without a final grade")
	}
	item, err := ReadRecordByID(c.Repo, "grade_items", grade.Int("itemid"))
	if err != nil {
		return nil, err
	}
	if gt := item.Int("gradetype"); gt == 0 || gt == 3 {
		return nil, skip("user_graded for a grade item of type %d (no numeric grade)", gt)
	}
	grader, err := c.coreOptionalUser(ev, "userid")
	if err != nil {
		return nil, err
	}
	courseID := item.Int("courseid")
	if courseID == 0 {
		courseID = ev.Int("courseid")
	}
	course, err := c.Course(courseID)
	if err != nil {
		return nil, err
	}

	var object map[string]any
	var parent []any
	switch item.Str("itemtype") {
	case "mod":
		cmid, err := c.coreGradeItemModule(item, course)
		if err != nil {
			return nil, err
		}
		if object, err = c.CourseModule(course, cmid); err != nil {
			return nil, err
		}
		if parent, err = c.Parent(cmid, false); err != nil {
			return nil, err
		}
	case "course":
		object = c.CourseActivity(course)
	default:
		if object, err = c.coreGradeItemActivity(item, course); err != nil {
			return nil, err
		}
		parent = []any{c.CourseActivity(course)}
	}

	min, max := coreGradeBound(grade, item, "rawgrademin", "grademin"), coreGradeBound(grade, item, "rawgrademax", "grademax")
	raw := final
	if raw > max {
		raw = max
	}
	if raw < min {
		raw = min
	}
	result := map[string]any{"score": map[string]any{
		"raw": raw, "min": min, "max": max, "scaled": c.quizScaled(raw, min, max),
	}}
	if pass, ok := item.Float("gradepass"); ok && pass > 0 {
		result["success"] = final >= pass
	}

	s, err := c.coreStatement(ev, c.Actor(user), Verb("scored"), object, CourseLang(course), nil)
	if err != nil {
		return nil, err
	}
	if parent != nil {
		coreContextActivities(s)["parent"] = parent
	}
	if grader != nil && grader.Int("id") != user.Int("id") {
		s["context"].(map[string]any)["instructor"] = c.Actor(grader)
	}
	s["result"] = result
	return []Statement{s}, nil
}

// coreGradeBound is a grade's raw bound, or the item's when NULL.
func coreGradeBound(grade, item Row, gradeCol, itemCol string) float64 {
	if v, ok := grade.Float(gradeCol); ok {
		return v
	}
	v, _ := item.Float(itemCol)
	return v
}

// coreGradeItemModule finds the course module a "mod" grade item grades.
func (c *Ctx) coreGradeItemModule(item, course Row) (int64, error) {
	mod, err := ReadRecord(c.Repo, "modules", map[string]any{"name": item.Str("itemmodule")})
	if err != nil {
		return 0, err
	}
	cm, err := ReadRecord(c.Repo, "course_modules", map[string]any{
		"course": course.Int("id"), "module": mod.Int("id"), "instance": item.Int("iteminstance"),
	})
	if err != nil {
		return 0, err
	}
	return cm.Int("id"), nil
}

// coreGradeItemActivity is a manual grade item or a category total.
func (c *Ctx) coreGradeItemActivity(item, course Row) (map[string]any, error) {
	name := item.Str("itemname")
	if item.Str("itemtype") == "category" && name == "" {
		cat, err := ReadRecordByID(c.Repo, "grade_categories", item.Int("iteminstance"))
		if err != nil {
			return nil, err
		}
		name = cat.Str("fullname")
	}
	if name == "" {
		name = "Grade item " + item.Str("id")
	}
	return coreActivity(c.Opt.WWWRoot+"/grade/edit/tree/item.php?courseid="+course.Str("id")+"&id="+item.Str("id"), map[string]any{
		"type": "http://adlnet.gov/expapi/activities/assessment",
		"name": coreLangMap(CourseLang(course), name),
	}), nil
}
