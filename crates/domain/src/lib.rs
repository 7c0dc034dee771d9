//! fangpin's domain: the types, rules and storage traits of 防止返贫动态监测和帮扶.
//! No I/O here — the store remembers, the web and the CLI talk to people; this crate decides.
//! Rules cite `DOMAIN.md` (Part A decisions D1–D19, Part B sections §n).

pub mod account;
pub mod assistance;
pub mod audit;
pub mod calendar;
pub mod campaign;
pub mod clock;
pub mod codes;
pub mod dashboard;
pub mod department_task;
pub mod feed;
pub mod fields;
pub mod household;
pub mod import;
pub mod income;
pub mod measure;
pub mod member;
pub mod money;
pub mod national_id;
pub mod notify;
pub mod params;
pub mod ports;
pub mod procedure;
pub mod quality;
pub mod question;
pub mod region;
pub mod rules;
pub mod screening;
pub mod search;
pub mod service;
pub mod summary;
pub mod supervision;
pub mod text;
pub mod trace;
pub mod visit;

pub use account::{Actor, Permission, Role, Scope, User, UserId, Username};
pub use codes::*;
pub use household::{
    DrinkingWater, Household, HouseholdId, HouseholdNo, Monitoring, MonitoringStatus, OfficerContact, PersonName, Phone,
};
pub use income::IncomeRecord;
pub use member::{Member, MemberId};
pub use money::Fen;
pub use national_id::NationalId;
pub use region::{Region, RegionCode, RegionLevel};
