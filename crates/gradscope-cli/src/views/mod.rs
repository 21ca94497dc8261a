//! Each command's [`Document`](crate::render::Document), built from the library's values:
//! `diagnose` ([`diagnose`], with its charts in [`depth_charts`], [`distribution_charts`],
//! [`through_time_charts`] and its recurrent tables in [`through_time`]), `demo`
//! ([`demo`], [`demo_charts`]), `activations` ([`activations`]), `sweep` ([`sweep`]), `study` ([`study`]). Views
//! choose, order and format; they compute no analysis.

pub mod activations;
pub mod cells;
pub mod demo;
pub mod demo_charts;
pub mod depth_charts;
pub mod diagnose;
pub mod distribution_charts;
pub mod study;
pub mod sweep;
pub mod through_time;
pub mod through_time_charts;
pub mod train;
