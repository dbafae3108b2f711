//! Logs: pretty for people, JSON for machines; both carry the request id.

use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// What is logged when `RAPPORT_LOG` is unset or invalid.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info,hyper=warn";

/// Installs the global subscriber. Safe to call more than once (later calls do nothing), which
/// tests that start several apps in one process rely on.
pub fn init(format: LogFormat) {
    let filter = filter_from(std::env::var("RAPPORT_LOG").ok().as_deref());
    let layer = match format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer().compact().boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
}

/// The filter `RAPPORT_LOG` asks for: a default level and levels per module, such as
/// `info,rapport::jobs=debug,sqlx=warn`. `Targets` rather than `EnvFilter`: Rapport's logs
/// need no span or field directives, and `EnvFilter`'s regular expressions were a tenth of
/// the release build's dependencies (docs/benchmarks.md). A filter that does not parse is
/// reported on stderr (logging is not up yet) and the default is used.
fn filter_from(value: Option<&str>) -> Targets {
    let default = || DEFAULT_FILTER.parse().unwrap_or_default();
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => default(),
        Some(value) => value.parse().unwrap_or_else(|err| {
            eprintln!(
                "RAPPORT_LOG={value:?} is not a log filter ({err}); using {DEFAULT_FILTER:?}"
            );
            default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn the_default_quiets_sqlx_and_keeps_rapport_at_info() {
        let filter = filter_from(None);
        assert!(filter.would_enable("rapport::jobs", &Level::INFO));
        assert!(!filter.would_enable("rapport::jobs", &Level::DEBUG));
        assert!(!filter.would_enable("sqlx::query", &Level::INFO));
        assert!(filter.would_enable("sqlx::query", &Level::WARN));
    }

    #[test]
    fn rapport_log_sets_levels_per_module() {
        let filter = filter_from(Some("warn,rapport::jobs=debug"));
        assert!(filter.would_enable("rapport::jobs::worker", &Level::DEBUG));
        assert!(!filter.would_enable("rapport::web", &Level::INFO));
        assert!(filter.would_enable("rapport::web", &Level::WARN));
    }

    #[test]
    fn an_invalid_filter_falls_back_to_the_default() {
        let filter = filter_from(Some("rapport=loud"));
        assert!(filter.would_enable("rapport::web", &Level::INFO));
        assert!(!filter.would_enable("sqlx::query", &Level::INFO));
    }
}
