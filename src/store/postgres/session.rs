//! A PostgreSQL connection that prepares each SQL text once.
//!
//! The `postgres` client prepares a statement for every call given a string:
//! one round trip to parse it, another to run it. A refresh runs some forty
//! statements, so on a local server the round trips, not the queries, were
//! its cost. [`Connection`] keeps each prepared [`Statement`] by its text for
//! the life of the connection (prepared statements outlive transactions,
//! committed or not), and [`Tx`] uses the same cache inside a transaction.
//! Call sites read as with the plain client: `query`, `query_one`,
//! `query_opt`, `execute`, `batch_execute`, `transaction`, `commit`.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, GenericClient, Row, Statement, Transaction};

/// Parameters of a statement.
pub(super) type Params<'p> = [&'p (dyn ToSql + Sync)];

/// A client, or a transaction on it, with the statements its connection has prepared.
pub(super) trait Prepared {
    type Client: GenericClient;

    fn parts(&mut self) -> (&mut Self::Client, &mut HashMap<String, Statement>);

    /// `sql` prepared on this connection, once.
    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        let (client, prepared) = self.parts();
        if let Some(statement) = prepared.get(sql) {
            return Ok(statement.clone());
        }
        let statement = client.prepare(sql)?;
        prepared.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    fn query(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.parts().0.query(&statement, params)
    }

    fn query_one(&mut self, sql: &str, params: &Params<'_>) -> Result<Row, postgres::Error> {
        let statement = self.statement(sql)?;
        self.parts().0.query_one(&statement, params)
    }

    fn query_opt(&mut self, sql: &str, params: &Params<'_>) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.parts().0.query_opt(&statement, params)
    }

    fn execute(&mut self, sql: &str, params: &Params<'_>) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        self.parts().0.execute(&statement, params)
    }

    /// Runs `sql` (several statements, no parameters) unprepared.
    fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.parts().0.batch_execute(sql)
    }
}

/// One connection and its prepared statements.
pub(super) struct Connection {
    client: Client,
    prepared: HashMap<String, Statement>,
}

impl Connection {
    pub(super) fn new(client: Client) -> Connection {
        Connection { client, prepared: HashMap::new() }
    }

    /// A transaction sharing the connection's statements; rolled back unless committed.
    pub(super) fn transaction(&mut self) -> Result<Tx<'_>, postgres::Error> {
        Ok(Tx { transaction: self.client.transaction()?, prepared: &mut self.prepared })
    }
}

impl Prepared for Connection {
    type Client = Client;

    fn parts(&mut self) -> (&mut Client, &mut HashMap<String, Statement>) {
        (&mut self.client, &mut self.prepared)
    }
}

/// A transaction on a [`Connection`].
pub(super) struct Tx<'c> {
    transaction: Transaction<'c>,
    prepared: &'c mut HashMap<String, Statement>,
}

impl Tx<'_> {
    pub(super) fn commit(self) -> Result<(), postgres::Error> {
        self.transaction.commit()
    }
}

impl<'c> Prepared for Tx<'c> {
    type Client = Transaction<'c>;

    fn parts(&mut self) -> (&mut Transaction<'c>, &mut HashMap<String, Statement>) {
        (&mut self.transaction, self.prepared)
    }
}
