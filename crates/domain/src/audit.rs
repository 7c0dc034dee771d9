//! 审计日志: append-only and hash-chained (DOMAIN D19). Each row carries the hash of the
//! previous row; `fangpin audit verify` recomputes the chain and names the first bad row.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::region::RegionCode;

crate::codes::code_enum! {
    /// What happened.
    pub enum AuditAction {
        Create = 1 => "新增",
        Update = 2 => "修改",
        Delete = 3 => "删除",
        Import = 4 => "导入",
        Export = 5 => "导出",
        ViewSensitive = 6 => "查看敏感信息",
        Login = 7 => "登录",
        LoginFailed = 8 => "登录失败",
        Logout = 9 => "退出登录",
        Lockout = 10 => "账户锁定",
        Screen = 11 => "筛查",
        Review = 12 => "审核",
    }
}

/// The hash of "no previous row".
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit event before it is stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// Truncated to microseconds so that every backend stores it exactly.
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: AuditAction,
    /// "household", "member", "user", "param", "session", "import", "export", "region".
    pub entity: String,
    pub entity_id: String,
    pub region: Option<RegionCode>,
    /// JSON text of the state before and after, as stored (the hash covers these exact bytes).
    pub before: Option<String>,
    pub after: Option<String>,
    pub note: String,
}

impl AuditEntry {
    pub fn new(
        at: DateTime<Utc>,
        actor: &crate::account::Actor,
        action: AuditAction,
        entity: &str,
        entity_id: impl ToString,
    ) -> Self {
        AuditEntry {
            at: truncate_micros(at),
            actor_id: actor.user_id.map(|u| u.0),
            actor_name: actor.name.clone(),
            action,
            entity: entity.to_string(),
            entity_id: entity_id.to_string(),
            region: None,
            before: None,
            after: None,
            note: String::new(),
        }
    }

    pub fn region(mut self, region: RegionCode) -> Self {
        self.region = Some(region);
        self
    }

    pub fn before<T: serde::Serialize>(mut self, v: &T) -> Self {
        self.before = serde_json::to_string(v).ok();
        self
    }

    pub fn after<T: serde::Serialize>(mut self, v: &T) -> Self {
        self.after = serde_json::to_string(v).ok();
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }
}

/// A stored audit row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

pub fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// SHA-256 over the previous hash and every field of the row, separated by U+001F.
pub fn chain_hash(prev_hash: &str, id: i64, e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    let sep = [0x1fu8];
    let parts: [String; 12] = [
        prev_hash.to_string(),
        id.to_string(),
        e.at.timestamp_micros().to_string(),
        e.actor_id.map(|v| v.to_string()).unwrap_or_default(),
        e.actor_name.clone(),
        e.action.code().to_string(),
        e.entity.clone(),
        e.entity_id.clone(),
        e.region.map(|r| r.to_string()).unwrap_or_default(),
        e.before.clone().unwrap_or_default(),
        e.after.clone().unwrap_or_default(),
        e.note.clone(),
    ];
    for p in &parts {
        h.update(p.as_bytes());
        h.update(sep);
    }
    hex::encode(h.finalize())
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("审计日志第{id}行被改动：内容与其哈希不符")]
    Altered { id: i64 },
    #[error("审计日志第{id}行之前的记录缺失或被替换：上一行哈希不符")]
    Unlinked { id: i64 },
    #[error("审计日志第{id}行的编号不连续（上一行为第{prev}行），中间的记录被删除")]
    Gap { id: i64, prev: i64 },
}

impl ChainBreak {
    pub fn row(&self) -> i64 {
        match self {
            ChainBreak::Altered { id } | ChainBreak::Unlinked { id } | ChainBreak::Gap { id, .. } => *id,
        }
    }
}

/// Checks rows one at a time, in id order.
#[derive(Debug)]
pub struct ChainVerifier {
    prev_hash: String,
    prev_id: i64,
    pub checked: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { prev_hash: GENESIS_HASH.to_string(), prev_id: 0, checked: 0 }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, r: &AuditRecord) -> Result<(), ChainBreak> {
        if r.id != self.prev_id + 1 {
            return Err(ChainBreak::Gap { id: r.id, prev: self.prev_id });
        }
        if r.prev_hash != self.prev_hash {
            return Err(ChainBreak::Unlinked { id: r.id });
        }
        if chain_hash(&r.prev_hash, r.id, &r.entry) != r.hash {
            return Err(ChainBreak::Altered { id: r.id });
        }
        self.prev_hash = r.hash.clone();
        self.prev_id = r.id;
        self.checked += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Actor;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|id| {
                let e =
                    AuditEntry::new(DateTime::<Utc>::default(), &Actor::cli(), AuditAction::Update, "household", id)
                        .after(&serde_json::json!({"n": id}));
                let hash = chain_hash(&prev, id, &e);
                let r = AuditRecord { id, entry: e, prev_hash: prev.clone(), hash: hash.clone() };
                prev = hash;
                r
            })
            .collect()
    }

    fn verify(rows: &[AuditRecord]) -> Result<(), ChainBreak> {
        let mut v = ChainVerifier::default();
        rows.iter().try_for_each(|r| v.check(r))
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(()));
    }

    #[test]
    fn tampering_is_detected() {
        let mut rows = chain(5);
        rows[2].entry.after = Some("{\"n\":999}".into());
        assert_eq!(verify(&rows), Err(ChainBreak::Altered { id: 3 }));

        let mut rows = chain(5);
        rows.remove(2);
        assert_eq!(verify(&rows), Err(ChainBreak::Gap { id: 4, prev: 2 }));

        // recomputing the hash of an altered row breaks the link to the next one
        let mut rows = chain(5);
        rows[1].entry.note = "x".into();
        rows[1].hash = chain_hash(&rows[1].prev_hash, 2, &rows[1].entry);
        assert_eq!(verify(&rows), Err(ChainBreak::Unlinked { id: 3 }));
    }
}
