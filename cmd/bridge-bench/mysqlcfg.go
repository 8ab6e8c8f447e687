package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

// parseSize reads "2G", "512M" or a byte count.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("--mysql-buffer-pool: %q is not a size like 2G or 512M", s)
	}
	return n * mult, nil
}

// mysqlSettings describes the server settings that move the figures most.
func mysqlSettings(ctx context.Context, server string) string {
	db, err := sql.Open("mysql", server)
	if err != nil {
		return ""
	}
	defer db.Close()
	var version string
	var pool, flush int64
	if db.QueryRowContext(ctx, "SELECT VERSION(), @@innodb_buffer_pool_size, @@innodb_flush_log_at_trx_commit").Scan(&version, &pool, &flush) != nil {
		return ""
	}
	return fmt.Sprintf("MariaDB/MySQL %s, innodb_buffer_pool_size %d MB, innodb_flush_log_at_trx_commit %d", version, pool>>20, flush)
}

// setBufferPool resizes InnoDB's buffer pool for the run (MariaDB 10.2+
// and MySQL 5.7+ resize it online) and returns a func that restores the
// previous size.
func setBufferPool(ctx context.Context, server string, size int64) (func(), error) {
	db, err := sql.Open("mysql", server)
	if err != nil {
		return nil, err
	}
	var prev int64
	if err := db.QueryRowContext(ctx, "SELECT @@innodb_buffer_pool_size").Scan(&prev); err != nil {
		db.Close()
		return nil, err
	}
	resize := func(n int64) error {
		if _, err := db.ExecContext(context.Background(), "SET GLOBAL innodb_buffer_pool_size = ?", n); err != nil {
			return err
		}
		// The resize runs in the background; wait until the size reads back
		// (it is rounded up to whole chunks).
		for i := 0; i < 600; i++ {
			var cur int64
			var status string
			db.QueryRowContext(context.Background(), "SELECT @@innodb_buffer_pool_size").Scan(&cur)
			db.QueryRowContext(context.Background(), "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_RESIZE_STATUS'").Scan(&status)
			if cur >= n && (status == "" || strings.Contains(strings.ToLower(status), "complet") || strings.Contains(strings.ToLower(status), "finished")) {
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		return fmt.Errorf("buffer pool resize to %d MB did not finish in 60 s", n>>20)
	}
	if err := resize(size); err != nil {
		db.Close()
		return nil, fmt.Errorf("--mysql-buffer-pool: %w", err)
	}
	logf("innodb_buffer_pool_size %d MB -> %d MB for this run (restored at the end)", prev>>20, size>>20)
	return func() {
		if err := resize(prev); err != nil {
			logf("restoring innodb_buffer_pool_size to %d MB: %v", prev>>20, err)
		}
		db.Close()
	}, nil
}
