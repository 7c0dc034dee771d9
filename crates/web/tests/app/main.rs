//! In-process tests of the whole web application (pages and API) through the router, on a
//! real database per test (STYLE §11–13).

mod harness;

mod alerts;
mod api;
mod assistance;
mod auth;
mod calendar;
mod campaigns;
mod cases;
mod dashboard;
mod edit;
mod findings;
mod national;
mod pages;
mod questions;
mod scope;
mod summary;
mod supervision;
mod trace;
mod visits;
