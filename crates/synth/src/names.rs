//! Tables for generated Chinese text: surnames, given names, place-name syllables, work places.
//! Weights are rough Guangxi frequencies; only plausibility matters.

use crate::rng::Rng;

/// Surnames with weights: Zhuang-region surnames (韦, 覃, 蒙, 莫, 黄, 梁, 陆, 潘, 农, 蓝) rank high.
pub const SURNAMES: &[(&str, u32)] = &[
    ("黄", 90),
    ("韦", 70),
    ("李", 60),
    ("陈", 50),
    ("覃", 45),
    ("梁", 45),
    ("莫", 35),
    ("刘", 30),
    ("蒙", 28),
    ("杨", 28),
    ("陆", 25),
    ("张", 25),
    ("潘", 22),
    ("罗", 22),
    ("王", 20),
    ("吴", 18),
    ("周", 15),
    ("廖", 15),
    ("卢", 14),
    ("谭", 12),
    ("蓝", 12),
    ("唐", 12),
    ("邓", 12),
    ("林", 12),
    ("何", 12),
    ("农", 10),
    ("钟", 10),
    ("赵", 8),
    ("朱", 8),
    ("谢", 8),
    ("曾", 8),
    ("欧", 6),
    ("龙", 6),
    ("甘", 6),
    ("苏", 6),
    ("胡", 6),
    ("徐", 6),
    ("秦", 5),
    ("石", 5),
    ("马", 5),
    ("冯", 5),
    ("骆", 3),
];

const MALE_OLDER: &[&str] = &[
    "国", "建", "明", "志", "文", "华", "德", "富", "贵", "福", "荣", "军", "强", "伟", "平", "生", "光", "永", "成",
    "发", "林", "忠", "海", "东", "金", "宝", "春", "桂", "祥", "胜", "新", "庆", "昌", "兴", "顺", "才", "安", "权",
    "有", "树",
];
const MALE_YOUNGER: &[&str] = &[
    "浩", "宇", "轩", "俊", "杰", "鹏", "涛", "磊", "鑫", "博", "文", "子", "睿", "晨", "阳", "凯", "航", "豪", "锦",
    "泽", "铭", "宏", "彬", "毅", "超", "健", "伟", "嘉", "家", "梓",
];
const FEMALE_OLDER: &[&str] = &[
    "秀", "英", "兰", "芳", "梅", "凤", "玉", "珍", "桂", "花", "莲", "琴", "丽", "美", "春", "燕", "霞", "红", "群",
    "月", "翠", "金", "妹", "娟", "艳", "萍", "素", "爱",
];
const FEMALE_YOUNGER: &[&str] = &[
    "欣", "怡", "婷", "雪", "静", "佳", "琪", "涵", "诗", "雨", "萱", "梦", "思", "颖", "悦", "彤", "璐", "瑶", "晴",
    "蕾", "丹", "妍", "莹", "娜", "慧", "敏", "倩", "洁",
];

/// Appends a given name of one or two characters, in the style of the birth year.
pub fn push_given_name(out: &mut String, rng: &mut Rng, male: bool, birth_year: i32) {
    let table = match (male, birth_year >= 1990) {
        (true, false) => MALE_OLDER,
        (true, true) => MALE_YOUNGER,
        (false, false) => FEMALE_OLDER,
        (false, true) => FEMALE_YOUNGER,
    };
    out.push_str(rng.choose::<&str>(table));
    if rng.chance(0.75) {
        out.push_str(rng.choose::<&str>(table));
    }
}

pub fn surname(rng: &mut Rng) -> &'static str {
    rng.pick(SURNAMES)
}

/// A full name: surname plus given name.
pub fn person_name(rng: &mut Rng, surname: &str, male: bool, birth_year: i32) -> String {
    let mut s = String::with_capacity(12);
    s.push_str(surname);
    push_given_name(&mut s, rng, male, birth_year);
    s
}

const PLACE_FIRST: &[&str] = &[
    "大", "小", "上", "下", "东", "西", "南", "北", "新", "高", "长", "青", "石", "龙", "凤", "金", "竹", "松", "马",
    "那", "板", "六", "古", "平", "安", "福", "黄", "白", "红", "双", "三", "清", "云", "桥", "江", "岭", "百", "弄",
    "都", "良", "和", "永", "太", "官", "罗", "丰", "兴", "仁", "德", "里",
];
const PLACE_SECOND: &[&str] = &[
    "山", "田", "岭", "塘", "坪", "坡", "岩", "江", "河", "洞", "湾", "冲", "桥", "坝", "寨", "林", "园", "水", "源",
    "丰", "安", "平", "和", "兴", "宁", "福", "龙", "头", "庄", "门", "阳", "口", "沙", "石", "岗", "洲", "良", "盛",
    "合", "峰",
];

/// A two-syllable place name plus `suffix` ("村", "镇", "县"), not in `taken`.
pub fn place_name(rng: &mut Rng, suffix: &str, taken: &[String]) -> String {
    loop {
        let first = rng.choose(PLACE_FIRST);
        let second = rng.choose(PLACE_SECOND);
        if first == second {
            continue;
        }
        let name = format!("{first}{second}{suffix}");
        if !taken.contains(&name) {
            return name;
        }
    }
}

/// 务工地点 away from home; the generator adds the member's own city and county too.
pub const WORK_PLACES: &[(&str, u32)] = &[
    ("广东省广州市", 14),
    ("广东省深圳市", 14),
    ("广东省东莞市", 12),
    ("广东省佛山市", 10),
    ("广东省中山市", 5),
    ("广东省惠州市", 4),
    ("浙江省宁波市", 4),
    ("浙江省温州市", 2),
    ("福建省厦门市", 3),
    ("海南省海口市", 2),
    ("广西南宁市", 8),
];

/// 失学或辍学原因.
pub const DROPOUT_REASONS: &[&str] = &["因病", "因残", "因学习困难", "因厌学", "因家庭困难", "因外出务工", "其他"];

/// The 14 cities of 广西壮族自治区 with their real codes (first four digits).
pub const GUANGXI_CITIES: &[(u64, &str)] = &[
    (4501, "南宁市"),
    (4502, "柳州市"),
    (4503, "桂林市"),
    (4504, "梧州市"),
    (4505, "北海市"),
    (4506, "防城港市"),
    (4507, "钦州市"),
    (4508, "贵港市"),
    (4509, "玉林市"),
    (4510, "百色市"),
    (4511, "贺州市"),
    (4512, "河池市"),
    (4513, "来宾市"),
    (4514, "崇左市"),
];
