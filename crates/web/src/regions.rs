//! Region names for display and filters, cached (the tree changes rarely; at province scale
//! it has ~15,000 villages, too many to read per request).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use domain::account::Scope;
use domain::ports::RegionStore;
use domain::region::{Region, RegionCode, RegionLevel};
use store::Db;

pub struct RegionIndex {
    pub by_code: HashMap<RegionCode, Region>,
    pub sorted: Vec<Region>,
}

impl RegionIndex {
    pub fn name(&self, code: RegionCode) -> String {
        self.by_code.get(&code).map(|r| r.name.clone()).unwrap_or_else(|| code.to_string())
    }

    /// Villages inside a scope, in code order.
    pub fn villages_in(&self, scope: &Scope) -> Vec<&Region> {
        self.sorted.iter().filter(|r| r.level() == RegionLevel::Village && scope.contains(r.code)).collect()
    }
}

pub struct RegionCache {
    db: Db,
    inner: RwLock<(Option<Instant>, Arc<RegionIndex>)>,
}

const TTL: Duration = Duration::from_secs(60);

impl RegionCache {
    pub fn new(db: Db) -> Self {
        RegionCache {
            db,
            inner: RwLock::new((None, Arc::new(RegionIndex { by_code: HashMap::new(), sorted: Vec::new() }))),
        }
    }

    pub async fn get(&self) -> Arc<RegionIndex> {
        {
            let g = self.inner.read().unwrap_or_else(|e| e.into_inner());
            if g.0.is_some_and(|t| t.elapsed() < TTL) {
                return g.1.clone();
            }
        }
        match self.db.all_regions().await {
            Ok(list) => {
                let idx =
                    Arc::new(RegionIndex { by_code: list.iter().map(|r| (r.code, r.clone())).collect(), sorted: list });
                *self.inner.write().unwrap_or_else(|e| e.into_inner()) = (Some(Instant::now()), idx.clone());
                idx
            }
            // keep serving the last good copy
            Err(_) => self.inner.read().unwrap_or_else(|e| e.into_inner()).1.clone(),
        }
    }
}
