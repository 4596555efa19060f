//! End-to-end tests against a real kube-apiserver + etcd and a real Prometheus.
//!
//! A custom libtest-mimic `main` (harness = false) owns the servers: it starts
//! what the selected cases need once, runs the cases in parallel (each in its
//! own namespace), and stops the servers before exiting, also when cases fail.
//! The servers come from `scripts/test-env`; without them every case fails
//! and says how to get them. tests/support/mod.rs explains the design.

#[path = "../support/mod.rs"]
mod support;

mod actions;
mod approve;
mod backtest;
mod deploy;
mod fault_proxy;
mod faults;
mod fixtures;
#[path = "../../benches/common/openmetrics.rs"]
mod openmetrics;
mod prometheus;
mod repl;
mod resize;
mod restart;
mod run;
mod status;
mod webhook;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use libtest_mimic::{Arguments, Trial};
use support::Env;
use support::env::Needs;

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

type Run = for<'a> fn(&'a Env) -> Pin<Box<dyn Future<Output = TestResult> + Send + 'a>>;

/// One end-to-end case and the servers it needs.
pub struct Case {
    pub name: &'static str,
    pub needs: Needs,
    pub run: Run,
}

/// `case!("module", needs, function)`.
#[macro_export]
macro_rules! case {
    ($module:literal, $needs:expr, $f:ident) => {
        $crate::Case {
            name: concat!($module, "::", stringify!($f)),
            needs: $needs,
            run: |env| Box::pin($f(env)),
        }
    };
}

pub const KUBE: Needs = Needs {
    cluster: true,
    prometheus: false,
};
pub const PROMETHEUS: Needs = Needs {
    cluster: false,
    prometheus: true,
};
pub const BOTH: Needs = Needs {
    cluster: true,
    prometheus: true,
};
pub const NOTHING: Needs = Needs {
    cluster: false,
    prometheus: false,
};

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let cases: Vec<Case> = actions::cases()
        .into_iter()
        .chain(deploy::cases())
        .chain(resize::cases())
        .chain(prometheus::cases())
        .chain(repl::cases())
        .chain(run::cases())
        .chain(restart::cases())
        .chain(approve::cases())
        .chain(status::cases())
        .chain(faults::cases())
        .chain(backtest::cases())
        .collect();

    let mut needs = NOTHING;
    if !args.list {
        for case in &cases {
            let probe = Trial::test(case.name, || Ok(()));
            if !args.is_filtered_out(&probe) {
                needs.cluster |= case.needs.cluster;
                needs.prometheus |= case.needs.prometheus;
            }
        }
    }
    let env = Arc::new(Env::start(needs));

    let trials = cases
        .into_iter()
        .map(|case| {
            let env = env.clone();
            Trial::test(case.name, move || {
                env.rt
                    .block_on((case.run)(&env))
                    .map_err(|e| e.to_string().into())
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    env.stop();
    conclusion.exit_code()
}
