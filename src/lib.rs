//! resetd: self-hosted password reset speaking four public reset APIs.
//!
//! Requests flow one way: HTTP -> [`dialects`] -> [`reset`] -> [`store`] / [`mail`].

pub mod app;
pub mod background;
pub mod cli;
pub mod clock;
pub mod config;
pub mod config_reference;
pub mod dialects;
pub mod html;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod pages;
pub mod priority;
pub mod reset;
pub mod routes;
pub mod security;
pub mod server;
pub mod store;
pub mod templating;
pub mod webhooks;
pub mod worker;
