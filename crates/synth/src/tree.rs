//! The region tree and the households-per-village plan of each preset.
//!
//! The tree and the plan depend on the preset only (never on the user's seed), so a preset always
//! names the same places and a benchmark can compare runs with different seeds village by village.

use domain::region::{LUORONG_TOWN, luorong_regions};
use domain::{Region, RegionCode};

use crate::Preset;
use crate::names::{GUANGXI_CITIES, place_name};
use crate::rng::{Rng, seed_of};

/// Fixed seed of the region trees ("fangpin" in ASCII).
const STRUCTURE_SEED: u64 = 0x6661_6E67_7069_6E00;

/// Mean village size of the generated trees (villages have 1,000–1,500 households).
const MEAN_VILLAGE: usize = 1_250;

/// One village of the plan, with the names its addresses and officer units are built from.
#[derive(Debug, Clone)]
pub(crate) struct VillageSpec {
    pub code: RegionCode,
    pub village: String,
    pub town: String,
    pub county: String,
    pub city: String,
    pub households: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Every region, sorted by code (parents before children).
    pub regions: Vec<Region>,
    /// Villages sorted by code.
    pub villages: Vec<VillageSpec>,
}

pub(crate) fn plan(preset: Preset) -> Plan {
    let mut rng = Rng::new(seed_of(&[STRUCTURE_SEED, preset as u64]));
    let mut plan = match preset {
        Preset::Town => town_plan(&mut rng),
        _ => generated_plan(&mut rng, preset.default_households()),
    };
    let mut sizes: Vec<usize> = plan.villages.iter().map(|v| v.households).collect();
    rescale(&mut sizes, preset.default_households());
    for (v, n) in plan.villages.iter_mut().zip(sizes) {
        v.households = n;
    }
    plan
}

/// 雒容镇 and its 13 villages (DOMAIN D1), 860–990 households each before scaling to 12,000.
fn town_plan(rng: &mut Rng) -> Plan {
    let regions = luorong_regions();
    let villages = regions
        .iter()
        .filter(|r| r.level() == domain::RegionLevel::Village)
        .map(|r| VillageSpec {
            code: r.code,
            village: r.name.clone(),
            town: LUORONG_TOWN.0.to_string(),
            county: "鱼峰区".to_string(),
            city: "柳州市".to_string(),
            households: rng.range(860, 990) as usize,
        })
        .collect();
    Plan { regions, villages }
}

/// A synthetic tree under 广西壮族自治区: counties of 12–15 towns of 12–15 villages of
/// 1,000–1,500 households. The number of villages is fixed first (target ÷ 1,250) and dealt out to
/// counties and towns, so that the final scaling to the exact target changes sizes by a few
/// households only. Counties go round-robin over the real cities, starting with 柳州市, with
/// county segments from 21 upwards so that no generated code collides with 鱼峰区 (450203) and
/// the demo town can live in the same database.
fn generated_plan(rng: &mut Rng, target: usize) -> Plan {
    let villages_total = (target + MEAN_VILLAGE / 2) / MEAN_VILLAGE;
    let counties = ((villages_total * 2 + 182) / 365).max(1); // 13.5 × 13.5 villages a county
    let mut regions = vec![region(450_000_000_000, "广西壮族自治区")];
    let mut villages = Vec::new();
    let mut county_names: Vec<String> = Vec::new();
    let mut cities_used = Vec::new();
    for (k, county_villages) in deal(villages_total, counties).into_iter().enumerate() {
        let (city4, city_name) = GUANGXI_CITIES[(k + 1) % GUANGXI_CITIES.len()];
        if !cities_used.contains(&city4) {
            cities_used.push(city4);
            regions.push(region(city4 * 100_000_000, city_name));
        }
        let county_code = (city4 * 100 + 21 + (k / GUANGXI_CITIES.len()) as u64) * 1_000_000;
        let county_name = place_name(rng, "县", &county_names);
        county_names.push(county_name.clone());
        regions.push(region(county_code, &county_name));

        let fewest = county_villages.div_ceil(15).max(1);
        let most = (county_villages / 12).clamp(fewest, 15.max(fewest));
        let towns = rng.range(fewest as u32, most as u32) as usize;
        let mut per_town = deal(county_villages, towns);
        // uneven towns, still 12–15 villages each where the total allows
        for _ in 0..towns * 2 {
            let (a, b) = (rng.below(towns as u32) as usize, rng.below(towns as u32) as usize);
            if per_town[a] > 12 && per_town[b] < 15 {
                per_town[a] -= 1;
                per_town[b] += 1;
            }
        }
        let mut town_names = Vec::new();
        for (t, town_villages) in per_town.into_iter().enumerate() {
            let town_code = county_code + (100 + t as u64) * 1000;
            let town_name = place_name(rng, "镇", &town_names);
            town_names.push(town_name.clone());
            regions.push(region(town_code, &town_name));

            let mut village_names = Vec::new();
            for v in 0..town_villages as u64 {
                let code = town_code + 201 + v;
                let village_name = place_name(rng, "村", &village_names);
                village_names.push(village_name.clone());
                regions.push(region(code, &village_name));
                villages.push(VillageSpec {
                    code: RegionCode::from_u64(code).expect("generated codes are 12 digits"),
                    village: village_name,
                    town: town_name.clone(),
                    county: county_name.clone(),
                    city: city_name.to_string(),
                    households: rng.range(1000, 1500) as usize,
                });
            }
        }
    }
    regions.sort_by_key(|r| r.code);
    villages.sort_by_key(|v| v.code);
    Plan { regions, villages }
}

/// `total` split into `parts` near-equal whole numbers (the first ones get the remainder).
fn deal(total: usize, parts: usize) -> Vec<usize> {
    (0..parts).map(|i| total / parts + usize::from(i < total % parts)).collect()
}

fn region(code: u64, name: &str) -> Region {
    Region { code: RegionCode::from_u64(code).expect("generated codes are 12 digits"), name: name.to_string() }
}

/// Scales `sizes` so that they sum to `total` exactly (largest remainder, ties to the earlier
/// entry): integer arithmetic only, so the result never depends on the platform.
pub(crate) fn rescale(sizes: &mut [usize], total: usize) {
    let sum: u128 = sizes.iter().map(|s| *s as u128).sum();
    if sizes.is_empty() {
        return;
    }
    if sum == 0 {
        sizes.iter_mut().for_each(|s| *s = 0);
        sizes[0] = total;
        return;
    }
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(sizes.len());
    let mut assigned = 0usize;
    for (i, s) in sizes.iter_mut().enumerate() {
        let exact = *s as u128 * total as u128;
        *s = (exact / sum) as usize;
        assigned += *s;
        remainders.push((exact % sum, i));
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders.iter().take(total - assigned) {
        sizes[*i] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescale_hits_the_total() {
        let mut s = vec![3, 3, 3];
        rescale(&mut s, 10);
        assert_eq!(s, vec![4, 3, 3]);
        let mut s = vec![900, 1000, 950];
        rescale(&mut s, 5);
        assert_eq!(s.iter().sum::<usize>(), 5);
        let mut s = vec![0, 0];
        rescale(&mut s, 7);
        assert_eq!(s, vec![7, 0]);
        let mut s = vec![1, 2, 3];
        rescale(&mut s, 0);
        assert_eq!(s, vec![0, 0, 0]);
    }

    #[test]
    fn dealing() {
        assert_eq!(deal(10, 3), vec![4, 3, 3]);
        assert_eq!(deal(2, 3), vec![1, 1, 0]);
    }

    #[test]
    fn generated_tree_shape() {
        let p = plan(Preset::M1);
        let counties: Vec<_> = p.regions.iter().filter(|r| r.level() == domain::RegionLevel::County).collect();
        assert_eq!(counties.len(), 4);
        assert_eq!(counties[0].code.to_string(), "450221000000");
        for c in &counties {
            let towns = p.regions.iter().filter(|r| r.code.parent() == Some(c.code)).count();
            assert!((12..=15).contains(&towns), "{} has {towns} towns", c.name);
        }
        assert_eq!(p.villages.iter().map(|v| v.households).sum::<usize>(), 1_000_000);
        assert!(p.villages.iter().all(|v| (990..=1520).contains(&v.households)));
        assert!(p.villages.iter().all(|v| v.village.ends_with('村') && v.town.ends_with('镇')));
    }
}
