#!/usr/bin/env python3
"""fangpin bench: the reference workloads in DuckDB (BENCHMARKS.md), timed inside this process.

Usage: reference.py DB_FILE THREADS COMMAND ARGS...  — prints one JSON object on its last line:
{"secs": [one per run], "rows": N, "peak_rss_mb": M}. Written by `fangpin bench`; do not edit the
copy in the bench directory.
"""
import json
import resource
import sys
import time

import duckdb


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(con, sql, runs, before=None, fetch=False):
    secs, rows = [], 0
    for _ in range(runs):
        if before:
            con.execute(before)
        t = time.perf_counter()
        cur = con.execute(sql)
        if fetch:
            rows = len(cur.fetchall())
        secs.append(time.perf_counter() - t)
    return secs, rows


def lit(path):
    """A file path as an SQL string literal."""
    return "'" + path.replace("'", "''") + "'"


def money(col):
    return f"CAST(round(coalesce(TRY_CAST(\"{col}\" AS DECIMAL(18,2)), 0) * 100) AS BIGINT)"


def yes(col):
    return f"(\"{col}\" = '是')"


# The national member-per-row file into typed tables: hh (one row per household) and mem (one per
# member). Untimed: the reference screens data "already loaded in DuckDB".
def load(con, csv):
    con.execute(f"CREATE OR REPLACE TABLE raw AS SELECT * FROM read_csv({lit(csv)}, all_varchar = true, header = true)")
    con.execute(f"""
        CREATE OR REPLACE TABLE hh AS SELECT
          "户编号" AS hno, any_value("县") AS county, any_value("乡镇") AS town, any_value("村") AS village,
          any_value("户类型") AS kind, any_value("监测对象类别") AS category,
          any_value(TRY_CAST("识别监测时间" AS DATE)) AS since,
          any_value(coalesce("风险是否已消除" = '是', false)) AS eliminated,
          any_value("风险消除方式") AS elim_mode, any_value(TRY_CAST("风险消除时间" AS DATE)) AS elim_on,
          any_value(TRY_CAST("家庭人口数" AS INTEGER)) AS declared_size,
          any_value(TRY_CAST("收入年度" AS INTEGER)) AS income_year,
          any_value({money('工资性收入')}) AS wage, any_value({money('生产经营性收入')}) AS business,
          any_value({money('财产性收入')}) AS property, any_value({money('转移性收入')}) AS transfer,
          any_value({money('生产经营性支出')}) AS business_cost, any_value({money('合规自付支出')}) AS oop,
          any_value({money('理赔收入')}) AS payout,
          any_value("危房等级") AS housing,
          any_value("是否饮水安全") AS water_safe, any_value("水量") AS wq1, any_value("水质") AS wq2,
          any_value("用水方便程度") AS wq3, any_value("供水保证率") AS wq4,
          any_value("两不愁是否有保障") AS food_secure,
          any_value(coalesce({yes('整户无劳动能力兜底保障户')}, false)) AS no_labour,
          any_value("帮扶责任人") AS officer,
          any_value(concat_ws(',', "致贫返贫风险1", "致贫返贫风险2", "致贫返贫风险3", "致贫返贫风险4", "致贫返贫风险5")) AS risks
        FROM raw GROUP BY "户编号"
    """)
    con.execute("""
        CREATE OR REPLACE TABLE mem AS SELECT
          "户编号" AS hno, "姓名" AS name, upper(trim("证件号码")) AS id,
          TRY_CAST(strptime(substr(trim("证件号码"), 7, 8), '%Y%m%d') AS DATE) AS birth,
          "与户主关系" AS relation, "性别" AS sex, "在校生状况" AS school, "劳动技能" AS labour,
          "健康状况" AS health, TRY_CAST("务工月数" AS INTEGER) AS work_months, "务工地点" AS work_place,
          coalesce("是否参加城乡居民基本医疗保险" = '是', false) AS resident_med,
          coalesce("是否参加城镇职工基本医疗保险" = '是', false) AS employee_med,
          "失学或辍学原因" AS dropout
        FROM raw
    """)
    n = con.execute("SELECT count(*) FROM mem").fetchone()[0]
    return [0.0], n


def age(birth, on):
    return (f"(date_diff('year', {birth}, DATE '{on}') - "
            f"CASE WHEN strftime({birth}, '%m%d') > strftime(DATE '{on}', '%m%d') THEN 1 ELSE 0 END)")


# The campaign's rules as one query (the main ones of domain/src/rules.rs: SM-INCOME, SM-EXPENSE,
# SM-NEEDS, ED-STABLE, AG-OFFICER, AG-LONG, WE-INCOME, WE-NEEDS, WE-SAFETY-NET, WE-EARLY and the
# income, work and medical data checks), materialising one row of flags per household.
def screen_sql(line_fen, as_of, sept1, stable_months, officer_days):
    return f"""
    CREATE OR REPLACE TABLE flags AS
    WITH m AS (
      SELECT hno, count(*) AS n,
        bool_or(labour NOT IN ('无劳动力', '丧失劳动力')) AS able,
        count(*) FILTER (WHERE {age('birth', sept1)} BETWEEN 6 AND 15
          AND (school IS NULL OR school = '学龄前儿童') AND coalesce(dropout, '') NOT LIKE '%送教上门%') AS out_of_school,
        count(*) FILTER (WHERE NOT resident_med AND NOT employee_med) AS uninsured,
        count(*) FILTER (WHERE (coalesce(work_months, 0) > 0) <> (coalesce(trim(work_place), '') <> '')) AS work_mismatch,
        count(*) FILTER (WHERE resident_med AND employee_med) AS both_medical
      FROM mem GROUP BY hno
    ), f AS (
      SELECT h.*, m.n, m.able, m.out_of_school, m.uninsured, m.work_mismatch, m.both_medical,
        greatest(coalesce(h.declared_size, m.n), 1) AS size,
        (h.wage + h.business + h.property + h.transfer - h.business_cost) AS net,
        h.income_year IS NOT NULL AND h.income_year <= year(DATE '{as_of}') AS has_income,
        (h.housing IN ('C级', 'D级')
          OR m.out_of_school > 0 OR m.uninsured > 0
          OR h.water_safe = '否' OR '否' IN (h.wq1, h.wq2, h.wq3, h.wq4)
          OR h.food_secure = '否') AS needs,
        CASE WHEN h.category IS NULL THEN 'never' WHEN h.eliminated THEN 'eliminated' ELSE 'monitored' END AS status,
        date_diff('month', h.since, DATE '{as_of}') AS months
      FROM hh h JOIN m USING (hno)
    ), p AS (
      SELECT *, net / size AS net_pc, (net - oop + payout) / size AS ref_pc FROM f
    )
    SELECT hno, county, town, village, status,
      status = 'never' AND has_income AND net_pc <= {line_fen} AS sm_income,
      status = 'never' AND has_income AND net_pc > {line_fen} AND ref_pc <= {line_fen} AS sm_expense,
      status = 'never' AND needs AS sm_needs,
      status = 'monitored' AND has_income AND months >= {stable_months} AND ref_pc >= {line_fen}
        AND NOT needs AND NOT no_labour AS ed_stable,
      status = 'monitored' AND officer IS NULL AND since + INTERVAL ({officer_days} * 7 / 5) DAY < DATE '{as_of}' AS ag_officer,
      status = 'monitored' AND able AND months >= 12 AS ag_long,
      status = 'eliminated' AND has_income AND ref_pc < {line_fen} AS we_income,
      status = 'eliminated' AND needs AS we_needs,
      status = 'eliminated' AND no_labour AS we_safety_net,
      status = 'eliminated' AND elim_mode = '帮扶消除' AND date_diff('month', since, elim_on) < {stable_months} AS we_early,
      NOT has_income AS de_no_income,
      has_income AND wage > 0 AND wage < 10000 AS de_wage,
      work_mismatch > 0 AS de_work,
      both_medical > 0 AS de_medical
    FROM p
    """


# One row per household with its member count and finding flags, made once and untimed: fangpin's
# roll-up columns hold the same (members per household, finding bits) before its rebuild is timed.
ROLLUP_INPUT = """
    CREATE OR REPLACE TABLE per_household AS
    SELECT h.hno, h.county, h.town, h.village, h.kind, h.category, m.n, f.* EXCLUDE (hno, county, town, village)
    FROM hh h JOIN flags f USING (hno, county, town, village)
      JOIN (SELECT hno, count(*) AS n FROM mem GROUP BY hno) m USING (hno)
"""

ROLLUP = """
    SELECT county, town, village, count(*) AS households, sum(n) AS members,
      count(*) FILTER (WHERE kind = '脱贫户') AS exited, count(*) FILTER (WHERE kind <> '脱贫户') AS ordinary,
      count(*) FILTER (WHERE status = 'never') AS never, count(*) FILTER (WHERE status = 'monitored') AS monitored,
      count(*) FILTER (WHERE status = 'eliminated') AS eliminated,
      count(*) FILTER (WHERE category = '脱贫不稳定户') AS c1, count(*) FILTER (WHERE category = '边缘易致贫户') AS c2,
      count(*) FILTER (WHERE category = '突发严重困难户') AS c3,
      count(*) FILTER (WHERE sm_income OR sm_expense OR sm_needs) AS should_monitor,
      count(*) FILTER (WHERE ag_officer OR ag_long) AS assistance_gap,
      count(*) FILTER (WHERE we_income OR we_needs OR we_safety_net OR we_early) AS wrong_elimination,
      count(*) FILTER (WHERE ed_stable) AS elimination_due,
      count(*) FILTER (WHERE de_no_income OR de_wage OR de_work OR de_medical) AS data_error
    FROM per_household
    GROUP BY ROLLUP (county, town, village)
"""


# A department file matched against the registry: parse, normalise IDs (spaces, lower-case x,
# full-width digits), join on the ID, sum per person, keep those above the threshold of their
# household's kind, write the alerts.
def match_sql(path, poor_fen, other_fen):
    return f"""
    CREATE OR REPLACE TABLE alerts AS
    WITH d AS (
      SELECT upper(translate(replace(trim("身份证号码"), ' ', ''), '０１２３４５６７８９ｘＸ', '0123456789XX')) AS id,
        CAST(round(coalesce(TRY_CAST("个人自付金额" AS DECIMAL(18,2)), 0) * 100) AS BIGINT) AS fen
      FROM read_csv({lit(path)}, all_varchar = true, header = true)
    ), s AS (SELECT id, sum(fen) AS fen, count(*) AS rows FROM d GROUP BY id)
    SELECT m.hno, m.id, s.fen, s.rows
    FROM s JOIN mem m USING (id) JOIN hh h USING (hno)
    WHERE s.fen >= CASE WHEN h.kind = '脱贫户' OR h.category IS NOT NULL THEN {poor_fen} ELSE {other_fen} END
    """


def main():
    db, threads, cmd, args = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    con = duckdb.connect(db)
    con.execute(f"SET threads TO {threads}")
    if cmd == "load":
        secs, rows = load(con, args[0])
    elif cmd == "screen":
        line_fen, as_of, sept1, stable, officer_days, runs = args
        secs, _ = timed(con, screen_sql(line_fen, as_of, sept1, stable, officer_days), int(runs))
        rows = con.execute("SELECT count(*) FROM flags").fetchone()[0]
    elif cmd == "rollup":
        con.execute(ROLLUP_INPUT)
        secs, rows = timed(con, ROLLUP, int(args[0]), fetch=True)
    elif cmd == "match":
        path, poor, other, runs = args
        secs, _ = timed(con, match_sql(path, poor, other), int(runs))
        rows = con.execute("SELECT count(*) FROM alerts").fetchone()[0]
    elif cmd == "export":
        out, runs = args
        secs, _ = timed(con, f"COPY (SELECT * FROM raw) TO {lit(out)} (HEADER, DELIMITER ',')", int(runs))
        rows = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    else:
        raise SystemExit(f"unknown command {cmd}")
    print(json.dumps({"secs": secs, "rows": rows, "peak_rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    main()
