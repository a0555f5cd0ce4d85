//! The application: builds the store, the Domo client, the ingestor, the workers and the
//! router; runs them until the shutdown future resolves, then drains within a bound. For the
//! demo the binary may hand it a stand-in Domo ([`DemoDomo`]) to run beside it.

mod demo;
mod workers;

pub use workers::build_worker;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::{self, AppState, DomoReadiness, SharedState};
use crate::config::{Config, Secret, SourceConfig};
use crate::domo::{ClientSettings, DomoClient};
use crate::ingest::Ingestor;
use crate::reconcile::Reconciler;
use crate::reload::{Live, Reloader, Snapshot, Trigger};
use crate::store::Store;
use crate::worker::Worker;

/// A stand-in Domo that the binary starts for the demo when no Domo credentials are
/// configured (the simulator of the `dgs-sims` crate, which the service's modules never
/// import): where it listens, the client credentials it accepts, and the task that serves it
/// until the token is cancelled.
pub struct DemoDomo {
    pub addr: SocketAddr,
    pub client_id: Secret,
    pub client_secret: Secret,
    pub serve: Box<dyn FnOnce(CancellationToken) -> BoxedTask + Send>,
}

/// A task the application runs beside itself and awaits on the way out.
pub type BoxedTask = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How long releasing the jobs in hand may take after the shutdown deadline.
const RELEASE_BOUND: Duration = Duration::from_secs(3);

/// A built application, bound to its port(s), not yet running.
pub struct Application {
    listener: TcpListener,
    router: Router,
    worker: Arc<Worker>,
    reconciler: Arc<Reconciler>,
    reconcile_every: Duration,
    store: Store,
    sim: Option<DemoDomo>,
    shutdown_timeout: Duration,
    header_read_timeout: Duration,
    reloader: Arc<Reloader>,
    secret_poll: Duration,
    /// The outgoing events' delivery lanes (none without subscribers).
    deliverer: Option<Arc<crate::notify::deliver::Deliverer>>,
    /// Where the pull poller reports each pull (`source.failing`).
    source_watch: Arc<crate::notify::source::SourceWatch>,
    /// The demo source's name and secret, when running on defaults.
    pub demo: Option<(String, Secret)>,
    /// The demo's API token (every scope), for the console and the API, when running on
    /// defaults with no `[[api.tokens]]`.
    pub demo_token: Option<Secret>,
}

impl Application {
    /// Opens the store (running migrations), sets everything up and binds the listener.
    /// Domo credentials must be configured (see [`Application::build_with_demo`]).
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        Self::build_with_demo(config, None).await
    }

    /// As [`Application::build`]; when no Domo credentials are configured and `demo_domo` is
    /// given, the service talks to that stand-in and runs it until it stops.
    pub async fn build_with_demo(
        mut config: Config,
        demo_domo: Option<DemoDomo>,
    ) -> anyhow::Result<Application> {
        let store = Store::open(&config.store)
            .await
            .context("cannot open the store")?;
        let demo = if config.demo && config.sources.is_empty() {
            Some(demo::add_source(&mut config, &store).await?)
        } else {
            None
        };
        let demo_token = if config.demo && config.api.tokens.is_empty() {
            Some(demo::add_token(&mut config, &store).await?)
        } else {
            None
        };
        let mut sim = None;
        let (client_id, client_secret) = if let (true, Some(demo_domo)) =
            (config.domo.uses_simulator(), demo_domo)
        {
            let addr = demo_domo.addr;
            config.domo.api_base = format!("http://{addr}")
                .parse()
                .context("simulator address")?;
            tracing::info!(%addr, "no Domo credentials configured: using the built-in Domo simulator");
            let ids = (demo_domo.client_id.clone(), demo_domo.client_secret.clone());
            sim = Some(demo_domo);
            ids
        } else {
            match (&config.domo.client_id, &config.domo.client_secret) {
                (Some(id), Some(secret)) => (id.clone(), secret.clone()),
                _ => anyhow::bail!("domo.client_id and domo.client_secret must both be set"),
            }
        };
        let domo = DomoClient::new(ClientSettings::from_config(
            &config.domo,
            client_id,
            client_secret,
        ))
        .map_err(|e| anyhow::anyhow!("cannot build the Domo client: {e}"))?;
        let notify = Arc::new(Notify::new());
        let ingestor = Ingestor::start(
            store.clone(),
            config.store.group_commit,
            config.store.max_batch,
            notify.clone(),
        );
        let live = Arc::new(Live::new(Snapshot::from_config(&config)));
        let (worker, reconciler) =
            build_worker(&config, &store, &domo, notify, live.clone()).await?;
        let added: Vec<SourceConfig> = config
            .sources
            .iter()
            .filter(|s| demo.as_ref().is_some_and(|(name, _)| *name == s.name))
            .cloned()
            .collect();
        let added_tokens = config
            .api
            .tokens
            .iter()
            .filter(|t| demo_token.is_some() && t.name == "demo-admin")
            .cloned()
            .collect();
        let reloader =
            Arc::new(Reloader::new(live.clone(), &config, added).with_added_tokens(added_tokens));
        let scrape = crate::prometheus::Scrape {
            handle: crate::prometheus::install(),
            store: store.clone(),
            domo: domo.clone(),
            subscribers: config.subscribers.iter().map(|s| s.name.clone()).collect(),
        };
        let domo_ready: Option<Arc<dyn DomoReadiness>> = if config.domo.dry_run {
            None
        } else {
            Some(Arc::new(domo))
        };
        let state = AppState::new(SharedState {
            live,
            reloader: reloader.clone(),
            ingestor,
            store: store.clone(),
            domo_ready,
            rules: worker.rules.clone(),
            reconciler: reconciler.clone(),
            refusals: Arc::default(),
            console: crate::console::ConsoleSettings::from_config(&config),
            public_url: config.server.public_url.clone(),
            pulls: reconciler.pulls.clone(),
            subscribers: config.subscribers.clone(),
            notifier: worker.notifier.clone(),
        });
        let router = crate::api::stack::router(state, scrape, &config);
        let source_watch = reconciler.pulls.as_ref().map_or_else(
            || {
                Arc::new(crate::notify::source::SourceWatch::new(
                    store.clone(),
                    worker.notifier.clone(),
                    config.notify.clone(),
                ))
            },
            |p| p.watch(),
        );
        let deliverer = if config.subscribers.is_empty() {
            None
        } else {
            Some(Arc::new(crate::notify::deliver::Deliverer::new(
                store.clone(),
                config.subscribers.clone(),
                config.notify.clone(),
                worker.notifier.bell.clone(),
            )?))
        };
        let listener = TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.server.listen))?;
        Ok(Application {
            listener,
            router,
            worker,
            reconciler,
            reconcile_every: Duration::from_secs(config.reconcile.interval_secs),
            store,
            sim,
            shutdown_timeout: Duration::from_secs(config.server.shutdown_timeout_secs),
            header_read_timeout: Duration::from_millis(config.server.header_read_timeout_ms),
            reloader,
            secret_poll: Duration::from_millis(config.secrets.poll_interval_ms),
            deliverer,
            source_watch,
            demo,
            demo_token,
        })
    }

    /// The address the service listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The in-process simulator's address, when one runs.
    pub fn sim_addr(&self) -> Option<SocketAddr> {
        self.sim.as_ref().map(|d| d.addr)
    }

    /// The store (tests inspect it).
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// The reconciler (tests and the CLI drive it directly).
    pub fn reconciler(&self) -> Arc<Reconciler> {
        self.reconciler.clone()
    }

    /// The worker (tests drive it directly).
    pub fn worker(&self) -> Arc<Worker> {
        self.worker.clone()
    }

    /// What the pull poller calls after each pull of a source (`source.failing`).
    pub fn source_watch(&self) -> Arc<crate::notify::source::SourceWatch> {
        self.source_watch.clone()
    }

    /// The delivery lanes of the outgoing events, when subscribers are configured.
    pub fn deliverer(&self) -> Option<Arc<crate::notify::deliver::Deliverer>> {
        self.deliverer.clone()
    }

    /// Serves until `shutdown` resolves; then stops accepting, finishes in-flight requests and
    /// lets the workers finish the job in hand, all within `server.shutdown_timeout_secs` from
    /// the signal; a job still running at that bound is released (back to the queue, the
    /// attempt not counted) rather than left to its lease.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let token = CancellationToken::new();
        let tracker = TaskTracker::new();
        let sim_token = CancellationToken::new();
        let sim_task = self.sim.map(|d| tokio::spawn((d.serve)(sim_token.clone())));
        let abort = CancellationToken::new();
        self.worker.spawn_with_abort(&tracker, &token, &abort);
        if !self.reconcile_every.is_zero() {
            let (r, every, t) = (self.reconciler.clone(), self.reconcile_every, token.clone());
            tracker.spawn(crate::reconcile::schedule::run_every(r, every, t));
        }
        if let Some(pulls) = self.reconciler.pulls.clone() {
            tracker.spawn(pulls.run(token.clone()));
        }
        if let Some(d) = &self.deliverer {
            d.spawn(&tracker, &token);
        }
        tracker.spawn(self.worker.store.clone().checkpoint_loop(token.clone()));
        tracker.spawn(crate::reload::watch(
            self.reloader.clone(),
            self.secret_poll,
            token.clone(),
        ));
        tracker.spawn(reload_on_sighup(self.reloader.clone(), token.clone()));
        let stop = token.clone();
        let mut server = tokio::spawn(api::serve::serve(
            self.listener,
            self.router,
            self.header_read_timeout,
            async move {
                shutdown.await;
                tracing::info!("shutting down: no new connections");
                stop.cancel();
            },
        ));
        // The drain (in-flight requests, then the jobs in hand) is bounded from the signal on.
        tokio::select! {
            () = token.cancelled() => {}
            r = &mut server => {
                token.cancel();
                r?;
            }
        }
        let deadline = tokio::time::Instant::now() + self.shutdown_timeout;
        if !server.is_finished() {
            match tokio::time::timeout_at(deadline, &mut server).await {
                Ok(r) => r?,
                Err(_) => {
                    tracing::warn!("requests still in flight at the shutdown deadline: dropped");
                    server.abort();
                }
            }
        }
        tracker.close();
        if tokio::time::timeout_at(deadline, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("jobs still running at the shutdown deadline: releasing them");
            abort.cancel();
            if tokio::time::timeout(RELEASE_BOUND, tracker.wait())
                .await
                .is_err()
            {
                tracing::warn!("some jobs could not be released; their leases will expire");
            }
        }
        sim_token.cancel();
        if let Some(t) = sim_task {
            let _ = t.await;
        }
        self.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Reloads on every SIGHUP until `token` is cancelled (a failed reload changes nothing).
async fn reload_on_sighup(reloader: Arc<Reloader>, token: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; reload with POST /api/v1/admin/reload");
            return;
        };
        loop {
            tokio::select! {
                () = token.cancelled() => return,
                got = hup.recv() => {
                    if got.is_none() {
                        return;
                    }
                    tracing::info!("SIGHUP: reloading the configuration");
                    let _ = reloader.reload(Trigger::Signal).await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    token.cancelled().await;
}

impl DomoReadiness for DomoClient {
    fn check(&self) -> api::futures_like::BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.check_token().await.map_err(|e| match e {
                crate::domo::DomoError::Unauthorized { .. } => "credentials refused".to_owned(),
                other => format!(
                    "unavailable ({})",
                    other
                        .status()
                        .map_or("no answer".to_owned(), |s| s.to_string())
                ),
            })
        })
    }
}
