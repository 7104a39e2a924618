//! Real processes killed, stalled and starved of disk while others append:
//! a binary of their own, so that their timing competes only with each
//! other, not with the rest of the suite.

#[path = "../common/mod.rs"]
mod common;

mod delete_race;
mod disk_full;
mod follow;
mod sigkill;
mod stall;
