//! Yearly income record of a household (DOMAIN §2.2, D4). All amounts in 分.

use crate::money::Fen;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct IncomeRecord {
    /// The year the figures describe.
    pub year: i32,
    /// 工资性收入.
    pub wage: Fen,
    /// 生产经营性收入.
    pub business: Fen,
    /// 财产性收入.
    pub property: Fen,
    /// 转移性收入.
    pub transfer: Fen,
    /// 生产经营性支出.
    pub business_cost: Fen,
    /// 合规自付支出.
    pub out_of_pocket: Fen,
    /// 理赔收入.
    pub insurance_payout: Fen,
}

impl IncomeRecord {
    /// The seven amounts in the national layout's order: 工资性, 生产经营性, 财产性, 转移性收入,
    /// 生产经营性支出, 合规自付支出, 理赔收入 (the order of [`IncomeRecord::from_amounts`]).
    pub fn amounts(&self) -> [Fen; 7] {
        [
            self.wage,
            self.business,
            self.property,
            self.transfer,
            self.business_cost,
            self.out_of_pocket,
            self.insurance_payout,
        ]
    }

    /// A year's record from its amounts in [`IncomeRecord::amounts`]' order.
    pub fn from_amounts(year: i32, amounts: [Fen; 7]) -> Self {
        let [wage, business, property, transfer, business_cost, out_of_pocket, insurance_payout] = amounts;
        IncomeRecord { year, wage, business, property, transfer, business_cost, out_of_pocket, insurance_payout }
    }

    /// 家庭纯收入 = 工资性 + 生产经营性 + 财产性 + 转移性 − 生产经营性支出 (DOMAIN D4).
    pub fn net(&self) -> Fen {
        self.wage + self.business + self.property + self.transfer - self.business_cost
    }

    /// 人均纯收入 = 家庭纯收入 ÷ 家庭人口数.
    pub fn net_per_capita(&self, household_size: u32) -> Option<Fen> {
        self.net().per_person(household_size)
    }

    /// Reference income for inclusion = 家庭纯收入 − 合规自付支出 + 理赔收入 (DOMAIN D4, pluggable).
    pub fn reference(&self) -> Fen {
        self.net() - self.out_of_pocket + self.insurance_payout
    }

    pub fn reference_per_capita(&self, household_size: u32) -> Option<Fen> {
        self.reference().per_person(household_size)
    }

    /// All the stored items are zero (a household without an income record yet).
    pub fn is_empty(&self) -> bool {
        self.amounts().iter().all(|f| *f == Fen::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_figures() {
        let r = IncomeRecord {
            year: 2021,
            wage: Fen::from_yuan(20_000),
            business: Fen::from_yuan(6_000),
            property: Fen::from_yuan(500),
            transfer: Fen::from_yuan(3_500),
            business_cost: Fen::from_yuan(2_000),
            out_of_pocket: Fen::from_yuan(8_000),
            insurance_payout: Fen::from_yuan(1_000),
        };
        assert_eq!(r.net(), Fen::from_yuan(28_000));
        assert_eq!(r.net_per_capita(4), Some(Fen::from_yuan(7_000)));
        assert_eq!(r.reference(), Fen::from_yuan(21_000));
        assert_eq!(r.reference_per_capita(4), Some(Fen::from_yuan(5_250)));
        assert_eq!(r.net_per_capita(0), None);
        // 3 people: 28,000 / 3 = 9,333.33 (truncated to the 分)
        assert_eq!(r.net_per_capita(3), Some(Fen(933_333)));
    }
}
