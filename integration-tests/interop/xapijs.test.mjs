// Interoperability: the bridge driven by @xapi/xapi (https://github.com/xapijs/xapi),
// once speaking xAPI 2.0.0 and once 1.0.3 (the library's `version` option sets
// the X-Experience-API-Version header of every request; its TypeScript type
// lists only 1.0.x, but the value is passed through as is).
//
// Run by `go test ./integration-tests -run TestClientInterop`, or by hand:
//   LRS_ENDPOINT=http://127.0.0.1:8080/xapi LRS_USER=key LRS_PASSWORD=secret node --test
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import XAPI from "@xapi/xapi";

const endpoint = process.env.LRS_ENDPOINT;
const user = process.env.LRS_USER;
const password = process.env.LRS_PASSWORD;
if (!endpoint || !user || !password) {
  throw new Error("set LRS_ENDPOINT, LRS_USER and LRS_PASSWORD");
}

const VERB = (v) => ({ id: `http://adlnet.gov/expapi/verbs/${v}`, display: { "en-US": v } });

// status of a rejected request (axios error), or a failed assertion when the
// request succeeded.
async function statusOf(promise) {
  try {
    const r = await promise;
    assert.fail(`expected an HTTP error, got ${r.status}: ${JSON.stringify(r.data)}`);
  } catch (e) {
    if (!e.response) throw e;
    return e.response.status;
  }
}

// describeHTTPError turns an axios error into a message with the request and
// the LRS's answer, so a failing test shows what was said.
function describeHTTPError(e) {
  if (!e || !e.response) return e;
  const c = e.config || {};
  const err = new Error(
    `${(c.method || "").toUpperCase()} ${c.url} -> ${e.response.status}: ${
      typeof e.response.data === "string" ? e.response.data : JSON.stringify(e.response.data)
    }`,
  );
  err.cause = e;
  return err;
}

// t wraps a test body so HTTP errors are reported with request and response.
const t = (fn) => async () => {
  try {
    await fn();
  } catch (e) {
    throw describeHTTPError(e);
  }
};

for (const version of ["2.0.0", "1.0.3"]) {
  describe(`@xapi/xapi speaking xAPI ${version}`, () => {
    const run = randomUUID();
    const xapi = new XAPI({ endpoint, auth: XAPI.toBasicAuth(user, password), version });
    const agent = { objectType: "Agent", mbox: `mailto:xapijs-${run}@example.org`, name: `xapijs ${version}` };
    const activityId = `http://example.org/interop/xapijs/${run}/course`;
    const activityName = `Interop course ${version}`;
    const statement = (verb, extra = {}) => ({
      actor: agent,
      verb: VERB(verb),
      object: {
        objectType: "Activity",
        id: activityId,
        definition: { name: { "en-US": activityName }, type: "http://adlnet.gov/expapi/activities/course" },
      },
      ...extra,
    });

    it("reads About and gets its version header back", t(async () => {
      const about = await xapi.getAbout();
      assert.ok(about.data.version.includes(version), `about.version ${JSON.stringify(about.data.version)} lacks ${version}`);
      const r = await xapi.getStatements({ limit: 1 });
      assert.equal(r.headers["x-experience-api-version"], version);
    }));

    it("sends a statement and gets it by id", t(async () => {
      const sent = statement("completed", {
        result: { score: { scaled: 0.75 }, success: true, completion: true, duration: "PT1M30S" },
        context: { registration: randomUUID(), language: "en-GB" },
      });
      const r = await xapi.sendStatement({ statement: sent });
      assert.equal(r.status, 200);
      assert.equal(r.data.length, 1);
      const id = r.data[0];
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

      const got = await xapi.getStatement({ statementId: id });
      const s = got.data;
      assert.equal(s.id, id);
      assert.equal(s.actor.mbox, agent.mbox);
      assert.equal(s.verb.id, sent.verb.id);
      assert.equal(s.object.id, activityId);
      assert.deepEqual(s.result, sent.result);
      assert.equal(s.context.registration, sent.context.registration);
      assert.ok(s.stored && s.timestamp && s.authority, `stored/timestamp/authority missing: ${JSON.stringify(s)}`);
      assert.ok(s.version.startsWith(version.slice(0, 2)), `statement version ${s.version} for a ${version} client`);
      assert.ok(got.headers["x-experience-api-consistent-through"], "no X-Experience-API-Consistent-Through");

      // A statement with a client-chosen id keeps it.
      const own = randomUUID();
      const r2 = await xapi.sendStatement({ statement: { id: own, ...statement("attempted") } });
      assert.deepEqual(r2.data, [own]);
      assert.equal((await xapi.getStatement({ statementId: own })).data.verb.id, VERB("attempted").id);
    }));

    it("sends a batch and queries it by agent and verb, following more", t(async () => {
      const batchAgent = { objectType: "Agent", mbox: `mailto:xapijs-batch-${run}@example.org` };
      const statements = [];
      for (let i = 0; i < 5; i++) statements.push({ ...statement("experienced"), actor: batchAgent });
      statements.push({ ...statement("attempted"), actor: batchAgent }); // other verb: not matched
      const r = await xapi.sendStatements({ statements });
      assert.equal(r.data.length, 6);
      const want = r.data.slice(0, 5);

      let page = await xapi.getStatements({ agent: batchAgent, verb: VERB("experienced").id, limit: 2 });
      const seen = [];
      let pages = 0;
      for (;;) {
        pages++;
        assert.ok(page.data.statements.length <= 2, `page of ${page.data.statements.length} > limit 2`);
        for (const s of page.data.statements) {
          assert.equal(s.actor.mbox, batchAgent.mbox);
          assert.equal(s.verb.id, VERB("experienced").id);
          seen.push(s.id);
        }
        if (!page.data.more) break;
        assert.ok(pages < 5, "more never ends");
        page = await xapi.getMoreStatements({ more: page.data.more });
      }
      assert.equal(pages, 3);
      assert.deepEqual([...seen].sort(), [...want].sort());
      assert.equal(new Set(seen).size, seen.length, "a statement came twice");
    }));

    it("voids a statement", t(async () => {
      const [id] = (await xapi.sendStatement({ statement: statement("failed") })).data;
      const v = await xapi.voidStatement({ actor: agent, statementId: id });
      assert.equal(v.data.length, 1);
      const voiding = (await xapi.getStatement({ statementId: v.data[0] })).data;
      assert.equal(voiding.verb.id, "http://adlnet.gov/expapi/verbs/voided");
      assert.deepEqual(voiding.object, { objectType: "StatementRef", id });

      assert.equal(await statusOf(xapi.getStatement({ statementId: id })), 404);
      const voided = await xapi.getVoidedStatement({ voidedStatementId: id });
      assert.equal(voided.data.id, id);
      assert.equal(voided.data.verb.id, VERB("failed").id);
    }));

    it("sends a statement with an attachment and gets the bytes back", t(async () => {
      // One line of UTF-8 without surrounding whitespace: @xapi/xapi's
      // multipart response parser keeps only the last line of a part and
      // trims it. One attachment: its multipart writer puts no CRLF between
      // an attachment's bytes and the next delimiter, so a second part would
      // not be delimited (RFC 2046 section 5.1.1).
      const text = `certificate ${run}: 100% \u2713 caf\u00e9 \u2014 ${version}`;
      const bytes = Buffer.from(text, "utf8");
      const sha2 = createHash("sha256").update(bytes).digest("hex");
      const sent = statement("completed", {
        attachments: [{
          usageType: XAPI.AttachmentUsages.CERTIFICATE_OF_COMPLETION,
          display: { "en-US": "certificate" },
          description: { "en-US": "interop certificate" },
          contentType: "text/plain",
          length: bytes.length,
          sha2,
        }],
      });
      const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      // Sent with the library's "fetch" adapter: with its default adapter
      // (axios) on Node, axios replaces the library's
      // "multipart/mixed; boundary=..." Content-Type with
      // "application/octet-stream" because the body is a Blob without a type
      // (axios lib/adapters/http.js), and the LRS rightly refuses that.
      const xapiFetch = new XAPI({ endpoint, auth: XAPI.toBasicAuth(user, password), version, adapter: "fetch" });
      const r = await xapiFetch.sendStatement({ statement: sent, attachments: [ab] });
      assert.equal(r.status, 200);
      const [id] = r.data;

      const got = await xapi.getStatement({ statementId: id, attachments: true });
      assert.match(got.headers["content-type"], /^multipart\/mixed/);
      assert.ok(Array.isArray(got.data), `attachments=true not parsed as multipart: ${typeof got.data}`);
      assert.equal(got.data.length, 2, "want the statement part and one attachment part");
      const [s, content] = got.data;
      assert.equal(s.id, id);
      assert.equal(s.attachments.length, 1);
      assert.equal(s.attachments[0].sha2, sha2);
      assert.equal(s.attachments[0].length, bytes.length);
      assert.ok(Buffer.from(content, "utf8").equals(bytes), `attachment bytes differ: ${JSON.stringify(content)}`);

      // Without attachments=true: plain JSON, the attachment metadata only.
      const plain = await xapi.getStatement({ statementId: id });
      assert.match(plain.headers["content-type"], /^application\/json/);
      assert.equal(plain.data.attachments[0].sha2, sha2);
    }));

    it("writes, reads and deletes State", t(async () => {
      const stateId = `http://example.org/interop/state/${run}`;
      const ids = { agent, activityId, stateId };
      await xapi.setState({ ...ids, state: { page: 3, bookmark: "intro" }, etag: "*", matchHeader: "If-None-Match" });
      let got = await xapi.getState(ids);
      assert.deepEqual(got.data, { page: 3, bookmark: "intro" });
      assert.match(got.headers["content-type"], /^application\/json/);
      const etag = got.headers.etag;
      assert.ok(etag, "no ETag on GET state");

      // If-None-Match: * on an existing document and a stale If-Match fail.
      assert.equal(await statusOf(xapi.setState({ ...ids, state: { page: 0 }, etag: "*", matchHeader: "If-None-Match" })), 412);
      assert.equal(await statusOf(xapi.setState({ ...ids, state: { page: 0 }, etag: '"stale"', matchHeader: "If-Match" })), 412);
      // POST merges JSON objects.
      await xapi.createState({ ...ids, state: { done: true }, etag, matchHeader: "If-Match" });
      got = await xapi.getState(ids);
      assert.deepEqual(got.data, { page: 3, bookmark: "intro", done: true });
      assert.notEqual(got.headers.etag, etag, "ETag did not change with the document");

      const list = await xapi.getStates({ agent, activityId });
      assert.ok(list.data.includes(stateId), `getStates ${JSON.stringify(list.data)} lacks ${stateId}`);

      // A non-JSON document comes back byte for byte with its content type.
      const textId = `${stateId}/text`;
      await xapi.setState({ agent, activityId, stateId: textId, state: "plain text state", contentType: "text/plain", etag: "*", matchHeader: "If-None-Match" });
      const txt = await xapi.getState({ agent, activityId, stateId: textId });
      assert.equal(txt.data, "plain text state");
      assert.match(txt.headers["content-type"], /^text\/plain/);

      await xapi.deleteState({ ...ids, etag: got.headers.etag });
      assert.equal(await statusOf(xapi.getState(ids)), 404);
      await xapi.deleteStates({ agent, activityId });
      assert.equal(await statusOf(xapi.getState({ agent, activityId, stateId: textId })), 404);
    }));

    it("writes, reads and deletes an Activity Profile with ETags", t(async () => {
      const ids = { activityId, profileId: `http://example.org/interop/profile/${run}` };
      await xapi.setActivityProfile({ ...ids, profile: { level: 1 }, etag: "*", matchHeader: "If-None-Match" });
      let got = await xapi.getActivityProfile(ids);
      assert.deepEqual(got.data, { level: 1 });
      const etag = got.headers.etag;
      assert.ok(etag, "no ETag on GET activity profile");

      assert.equal(await statusOf(xapi.setActivityProfile({ ...ids, profile: { level: 9 }, etag: "*", matchHeader: "If-None-Match" })), 412);
      assert.equal(await statusOf(xapi.setActivityProfile({ ...ids, profile: { level: 9 }, etag: '"stale"', matchHeader: "If-Match" })), 412);
      await xapi.setActivityProfile({ ...ids, profile: { level: 2 }, etag, matchHeader: "If-Match" });
      got = await xapi.getActivityProfile(ids);
      assert.deepEqual(got.data, { level: 2 });

      const list = await xapi.getActivityProfiles({ activityId });
      assert.ok(list.data.includes(ids.profileId), `getActivityProfiles ${JSON.stringify(list.data)}`);

      assert.equal(await statusOf(xapi.deleteActivityProfile({ ...ids, etag })), 412); // old ETag
      await xapi.deleteActivityProfile({ ...ids, etag: got.headers.etag });
      assert.equal(await statusOf(xapi.getActivityProfile(ids)), 404);
    }));

    it("writes, reads and deletes an Agent Profile with ETags", t(async () => {
      const ids = { agent, profileId: `http://example.org/interop/agent-profile/${run}` };
      await xapi.setAgentProfile({ ...ids, profile: { theme: "dark" }, etag: "*", matchHeader: "If-None-Match" });
      let got = await xapi.getAgentProfile(ids);
      assert.deepEqual(got.data, { theme: "dark" });
      const etag = got.headers.etag;
      assert.ok(etag, "no ETag on GET agent profile");

      assert.equal(await statusOf(xapi.setAgentProfile({ ...ids, profile: {}, etag: '"stale"', matchHeader: "If-Match" })), 412);
      await xapi.createAgentProfile({ ...ids, profile: { font: "large" }, etag, matchHeader: "If-Match" });
      got = await xapi.getAgentProfile(ids);
      assert.deepEqual(got.data, { theme: "dark", font: "large" });

      const list = await xapi.getAgentProfiles({ agent });
      assert.ok(list.data.includes(ids.profileId), `getAgentProfiles ${JSON.stringify(list.data)}`);

      await xapi.deleteAgentProfile({ ...ids, etag: got.headers.etag });
      assert.equal(await statusOf(xapi.getAgentProfile(ids)), 404);
    }));

    describe("Activities and Agents resources", () => {
      before(t(async () => {
        await xapi.sendStatement({ statement: statement("launched") });
      }));

      it("getActivity returns the stored definition", t(async () => {
        const r = await xapi.getActivity({ activityId });
        assert.equal(r.data.id, activityId);
        assert.equal(r.data.objectType ?? "Activity", "Activity");
        assert.equal(r.data.definition?.name?.["en-US"], activityName, `activity: ${JSON.stringify(r.data)}`);
        assert.equal(r.data.definition?.type, "http://adlnet.gov/expapi/activities/course");
      }));

      it("getAgent returns a Person", t(async () => {
        const r = await xapi.getAgent({ agent: { objectType: "Agent", mbox: agent.mbox } });
        assert.equal(r.data.objectType, "Person", `person: ${JSON.stringify(r.data)}`);
        assert.deepEqual(r.data.mbox, [agent.mbox]);
        if (r.data.name !== undefined) {
          assert.ok(r.data.name.includes(agent.name), `person.name ${JSON.stringify(r.data.name)} lacks ${agent.name}`);
        }
      }));
    });
  });
}
