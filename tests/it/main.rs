//! resetd's integration tests, in one binary: each module is one area, run against a real
//! server (in process, or the `resetd` binary as a child) on SQLite and PostgreSQL. The
//! harness they share is `support`.
//!
//! One binary links the harness and the server once instead of once per file. Pick tests by
//! module path: `cargo test --test it security_21`, `cargo test --test it faults::`.

mod support;

mod admin_account_effects;
mod admin_bad_input;
mod admin_users;
mod captcha;
mod cli;
mod cloudreve;
mod config_reference;
mod cors;
mod cors_browser;
mod every_dialect;
mod faults;
mod generated_code;
mod import;
mod ipcola;
mod legacy_login;
mod logging;
mod mail_templates;
mod metrics;
mod outbox_sealing;
mod page_templates;
mod product_ids;
mod proxy_nginx;
mod rate_limits;
mod real_clients;
mod reset_pages_browser;
mod reset_pages_languages_browser;
mod reset_queue;
mod resetd_api;
mod security;
mod security_02_enumeration_timing;
mod security_11_opening_a_link_does_not_consume_it;
mod security_18_bad_input;
mod security_18_fuzz_parsers;
mod security_19_no_secrets_in_logs;
mod security_19_reset_page_links_stay_out_of_logs;
mod security_20_reset_page_headers;
mod selfcommunity;
mod spec_conformance;
mod strapi;
mod tidy;
mod webhooks;
mod webhooks_admin;
mod webhooks_faults;
