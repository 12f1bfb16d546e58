//! A schema of its own on the machine's PostgreSQL for each test, dropped
//! after it.
//!
//! The server is `SWITCHBOARD_TEST_POSTGRES` (a libpq URL), by default
//! `postgres://root@127.0.0.1:5432/test`. A server that cannot be reached
//! fails the test with a message that says so: these tests are never
//! skipped.

use std::sync::atomic::{AtomicUsize, Ordering};

pub fn server() -> String {
    std::env::var("SWITCHBOARD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".to_string())
}

/// Runs one statement on the test server.
pub fn execute(sql: &str) {
    with_client(&server(), |client| async move {
        client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    });
}

/// The rows a query answers at `url`, each value as text (`None` for
/// NULL).
pub fn rows(url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    with_client(url, |client| async move {
        let messages = client
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        messages
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    })
}

/// The one text value a query answers at `url`.
pub fn value(url: &str, sql: &str) -> String {
    let rows = rows(url, sql);
    assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
    rows[0][0].clone().unwrap_or_default()
}

fn with_client<T, F>(url: &str, work: impl FnOnce(std::sync::Arc<tokio_postgres::Client>) -> F) -> T
where
    F: std::future::Future<Output = T>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL at {url} cannot be reached ({e}); start it (pg_ctlcluster 15 main start) \
                     or set SWITCHBOARD_TEST_POSTGRES"
                )
            });
        let connection = tokio::spawn(connection);
        let client = std::sync::Arc::new(client);
        let answer = work(client.clone()).await;
        drop(client);
        let _ = connection.await;
        answer
    })
}

/// An empty schema; `url` connects with it first on the search path, so
/// a store opened there keeps its tables in it.
pub struct Schema {
    pub name: String,
    pub url: String,
}

impl Schema {
    pub fn new(test: &str) -> Schema {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "sb_{}_{}_{}",
            test.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
        .to_lowercase();
        execute(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        ));
        let url = with_search_path(&server(), &name);
        Schema { name, url }
    }
}

/// `url` with `options=-csearch_path=<schema>` added.
pub fn with_search_path(url: &str, schema: &str) -> String {
    let glue = if url.contains('?') { '&' } else { '?' };
    format!("{url}{glue}options=-csearch_path%3D{schema}")
}

impl Drop for Schema {
    fn drop(&mut self) {
        execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}
