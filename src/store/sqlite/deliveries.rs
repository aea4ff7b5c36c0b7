//! SQLite engine: the webhook bookkeeping ([`Deliveries`]) in SQL.

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;

use super::SqliteStore;
use super::columns::{STORED_COLUMNS, STORED_COLUMNS_LEN, SqlTime, read_stored};
use super::items::json_list;
use crate::store::{Deliveries, NewItem, PendingDelivery, StoreError};

impl Deliveries for SqliteStore {
    fn webhook_mark(&self, webhook: &str, feed_id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT last_item FROM webhook_marks WHERE webhook = ?1 AND feed_id = ?2")?
            .query_row((webhook, feed_id), |row| row.get(0))
            .optional()?)
    }

    fn newest_item_id(&self, source_ids: &[&str]) -> Result<i64, StoreError> {
        let ids = json_list(source_ids)?;
        Ok(self
            .conn
            .prepare_cached(
                "SELECT coalesce(max(id), 0) FROM items WHERE source_id IN (SELECT value FROM json_each(?1))",
            )?
            .query_row([ids], |row| row.get(0))?)
    }

    fn items_after(&self, source_ids: &[&str], mark: i64) -> Result<Vec<NewItem>, StoreError> {
        let sql = format!(
            "SELECT {STORED_COLUMNS}, id FROM items
             WHERE source_id IN (SELECT value FROM json_each(?1)) AND id > ?2 ORDER BY id"
        );
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement
            .query_map((json_list(source_ids)?, mark), |row| Ok((row.get(STORED_COLUMNS_LEN)?, read_stored(row)?.0)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn queue_deliveries(
        &mut self,
        webhook: &str,
        feed_id: &str,
        bodies: &[(String, String, i64)],
        mark: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO deliveries (webhook, feed_id, guid, body, queued, next_attempt)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            )?;
            for (guid, body, item_id) in bodies {
                insert.execute((webhook, feed_id, guid, body, item_id, SqlTime::new(now)))?;
            }
            tx.prepare_cached(
                "INSERT INTO webhook_marks (webhook, feed_id, last_item) VALUES (?1, ?2, ?3)
                 ON CONFLICT (webhook, feed_id) DO UPDATE SET last_item = max(last_item, excluded.last_item)",
            )?
            .execute((webhook, feed_id, mark))?;
        }
        tx.commit()?;
        Ok(())
    }

    fn due_deliveries(&self, webhook: &str, now: DateTime<Utc>) -> Result<Vec<PendingDelivery>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT feed_id, guid, body, attempts FROM deliveries
             WHERE webhook = ?1 AND delivered_at IS NULL AND next_attempt <= ?2 ORDER BY queued, feed_id",
        )?;
        let rows = statement.query_map((webhook, SqlTime::new(now)), |row| {
            Ok(PendingDelivery { feed_id: row.get(0)?, guid: row.get(1)?, body: row.get(2)?, attempts: row.get(3)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn pending_deliveries(&self, webhook: &str) -> Result<usize, StoreError> {
        let count: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM deliveries WHERE webhook = ?1 AND delivered_at IS NULL")?
            .query_row([webhook], |row| row.get(0))?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    fn delivery_made(
        &mut self,
        webhook: &str,
        feed_id: &str,
        guid: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE deliveries SET delivered_at = ?4, attempts = attempts + 1, last_error = NULL
                 WHERE webhook = ?1 AND feed_id = ?2 AND guid = ?3",
            )?
            .execute((webhook, feed_id, guid, SqlTime::new(now)))?;
        Ok(())
    }

    fn delivery_failed(
        &mut self,
        webhook: &str,
        (feed_id, guid): (&str, &str),
        attempts: u32,
        error: &str,
        next_attempt: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE deliveries SET attempts = attempts + ?4, last_error = ?5, next_attempt = ?6
                 WHERE webhook = ?1 AND feed_id = ?2 AND guid = ?3",
            )?
            .execute((webhook, feed_id, guid, attempts, error, SqlTime::new(next_attempt)))?;
        Ok(())
    }

    fn defer_deliveries(&mut self, webhook: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE deliveries SET next_attempt = max(next_attempt, ?2)
                 WHERE webhook = ?1 AND delivered_at IS NULL",
            )?
            .execute((webhook, SqlTime::new(until)))?;
        Ok(())
    }
}
