//! The end-to-end harness: a real etcd + kube-apiserver and a real Prometheus,
//! started once per test binary and stopped when it ends.
//!
//! Why one environment per binary, run by a custom libtest-mimic `main` (see
//! `tests/e2e/main.rs`) rather than a lazily started static: the API server
//! takes ~3 s and ~280 MB to start, so every case shares it (each in its own
//! namespace), and a `static` is never dropped, so its processes would outlive
//! the tests. Here `main` owns the [`Env`]: it starts the servers, runs the
//! cases (libtest-mimic catches their panics), and stops the servers before it
//! exits. If the test process dies without unwinding (SIGKILL, Ctrl-C), the
//! servers still die with it: they are spawned from the main thread with
//! `PR_SET_PDEATHSIG` (see [`process`]).

#![allow(dead_code)] // each test binary uses a different part

pub mod binaries;
pub mod certs;
pub mod cluster;
pub mod env;
pub mod process;
pub mod prometheus;

pub use env::Env;
