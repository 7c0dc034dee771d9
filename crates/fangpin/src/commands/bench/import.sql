-- fangpin bench W1 reference: the sqlite3 command-line shell imports the same national-layout CSV
-- into a staging table, then into a household table and a member table with the ID-number index in
-- one transaction (no validation). Written by `fangpin bench`; {CSV} is replaced with the file's path.
PRAGMA journal_mode = WAL;
.import --csv '{CSV}' stage
BEGIN;
CREATE TABLE households (
    id INTEGER PRIMARY KEY, household_no TEXT NOT NULL UNIQUE, town TEXT, village TEXT, group_no TEXT,
    kind TEXT, category TEXT, monitored_since TEXT, eliminated TEXT, address TEXT, phone TEXT,
    declared_size INTEGER, income_year INTEGER, wage INTEGER, business INTEGER, property INTEGER,
    transfer INTEGER, business_cost INTEGER, out_of_pocket INTEGER, insurance_payout INTEGER,
    housing_grade TEXT, water_safe TEXT, officer TEXT, officer_phone TEXT
);
INSERT INTO households (household_no, town, village, group_no, kind, category, monitored_since, eliminated,
    address, phone, declared_size, income_year, wage, business, property, transfer, business_cost,
    out_of_pocket, insurance_payout, housing_grade, water_safe, officer, officer_phone)
SELECT "户编号", min("乡镇"), min("村"), min("组"), min("户类型"), min("监测对象类别"), min("识别监测时间"),
    min("风险是否已消除"), min("家庭住址"), min("联系电话"), min(CAST("家庭人口数" AS INTEGER)),
    min(CAST("收入年度" AS INTEGER)), min(CAST(round("工资性收入" * 100) AS INTEGER)),
    min(CAST(round("生产经营性收入" * 100) AS INTEGER)), min(CAST(round("财产性收入" * 100) AS INTEGER)),
    min(CAST(round("转移性收入" * 100) AS INTEGER)), min(CAST(round("生产经营性支出" * 100) AS INTEGER)),
    min(CAST(round("合规自付支出" * 100) AS INTEGER)), min(CAST(round("理赔收入" * 100) AS INTEGER)),
    min("危房等级"), min("是否饮水安全"), min("帮扶责任人"), min("帮扶责任人电话")
FROM stage GROUP BY "户编号";
CREATE TABLE members (
    id INTEGER PRIMARY KEY, household_id INTEGER NOT NULL REFERENCES households (id), name TEXT NOT NULL,
    id_number TEXT NOT NULL, relation TEXT, sex TEXT, ethnicity TEXT, education TEXT, school_status TEXT,
    health TEXT, labour_skill TEXT, work_months INTEGER, work_place TEXT, resident_medical TEXT,
    employee_medical TEXT, dibao TEXT, tekun TEXT, dropout_reason TEXT
);
INSERT INTO members (household_id, name, id_number, relation, sex, ethnicity, education, school_status, health,
    labour_skill, work_months, work_place, resident_medical, employee_medical, dibao, tekun, dropout_reason)
SELECT h.id, s."姓名", upper(trim(s."证件号码")), s."与户主关系", s."性别", s."民族", s."文化程度", s."在校生状况",
    s."健康状况", s."劳动技能", CAST(s."务工月数" AS INTEGER), s."务工地点", s."是否参加城乡居民基本医疗保险",
    s."是否参加城镇职工基本医疗保险", s."是否享受低保", s."是否特困供养", s."失学或辍学原因"
FROM stage s JOIN households h ON h.household_no = s."户编号";
CREATE INDEX members_id_number ON members (id_number);
CREATE INDEX members_household ON members (household_id);
DROP TABLE stage;
COMMIT;
