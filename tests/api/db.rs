//! Which backend the suite runs on, and a fresh database per test.
//!
//! The suite runs twice (see `.ci/run`): once on SQLite (the default) and once on PostgreSQL
//! with `TEST_STORE_BACKEND=postgres`. On PostgreSQL every test gets its own database
//! `dgs_test_<uuid>`, created through `TEST_DATABASE_URL` and dropped (`WITH (FORCE)`) when the
//! test's `TestDb` is dropped. Without `TEST_DATABASE_URL` the PostgreSQL pass is skipped
//! loudly, except in CI (`CI` set), where that is a failure.

use std::path::Path;

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

/// The store backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backend of this pass: `TEST_STORE_BACKEND=postgres`, else SQLite.
pub fn backend() -> Backend {
    match std::env::var("TEST_STORE_BACKEND").as_deref() {
        Ok("postgres" | "pg") => Backend::Postgres,
        Ok("sqlite" | "") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("TEST_STORE_BACKEND must be `sqlite` or `postgres`, not `{other}`"),
    }
}

/// The admin URL of the PostgreSQL server the tests use. Without `TEST_DATABASE_URL`: fails in
/// CI, else prints a loud SKIPPED line and ends the test process with success (nextest runs
/// every test in its own process, so this skips exactly one test; `cargo test` stops the
/// whole PostgreSQL pass at its first test, which is the same thing said once).
pub fn pg_admin_url_or_skip(test: &str) -> String {
    if let Ok(url) = std::env::var("TEST_DATABASE_URL")
        && !url.is_empty()
    {
        return url;
    }
    if std::env::var_os("CI").is_some() {
        panic!("TEST_DATABASE_URL is not set, and in CI the PostgreSQL tests must run");
    }
    eprintln!(
        "\n######## SKIPPED: TEST_DATABASE_URL not set; the PostgreSQL test `{test}` did not run ########\n"
    );
    std::process::exit(0);
}

/// A database for one test: a SQLite file in the test's temp dir, or a fresh PostgreSQL
/// database dropped when this is dropped.
pub struct TestDb {
    pub url: String,
    pg: Option<(String, String)>, // (admin url, database name)
}

impl TestDb {
    /// A fresh database on the pass's backend.
    pub async fn create(dir: &Path) -> TestDb {
        match backend() {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.join("test.db").display()),
                pg: None,
            },
            Backend::Postgres => TestDb::postgres(&pg_admin_url_or_skip("suite")).await,
        }
    }

    /// A fresh PostgreSQL database on the server of `admin_url`.
    pub async fn postgres(admin_url: &str) -> TestDb {
        let name = format!("dgs_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(admin_url)
            .await
            .expect("connect to TEST_DATABASE_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create the test database");
        let _ = conn.close().await;
        let mut url = url::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        let url = url.to_string();
        TestDb {
            url,
            pg: Some((admin_url.to_owned(), name)),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which must not be blocked on: use a thread with
        // a runtime of its own. FORCE ends the connections the stopped app still holds.
        let dropper = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                match PgConnection::connect(&admin).await {
                    Ok(mut conn) => {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql))
                            .execute(&mut conn)
                            .await
                        {
                            eprintln!("could not drop test database {name}: {e}");
                        }
                    }
                    Err(e) => eprintln!("could not drop test database {name}: {e}"),
                }
            });
        });
        let _ = dropper.join();
    }
}
