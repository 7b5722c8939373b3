"""HR reads on PostgreSQL at scale: status and name search, the overdue list, a position's funnel and
bias audit, over 100,000 applications and 1,000,000 interview answers.

Run as ``.venv/bin/python bench/hr.py [--reuse] [--database-url postgresql://…] [--try-indexes]``.

The data lives in a database of its own, ``talentbot_bench`` on the local server (created from the
``postgres`` maintenance database when missing; ``--database-url`` names another — its name must
contain "bench", and never ``test``), its schema brought to head on every run (``storage.db.upgrade``).
Unless ``--reuse`` finds a dataset of the asked size there (``--applications`` rows in
``applications`` and ``--answers`` in ``answers``), every table is emptied, the demo bank seeded
(``storage.seed.seed``: TELLER, RM, RISK) and a year of recruiting generated and loaded with ``COPY`` (psycopg
``cursor.copy``; foreign-key triggers off for the load — the rows are consistent by construction),
then ``VACUUM ANALYZE`` (as autovacuum would leave a table that has been in use):

* 33 positions in 8 departments (30 generated beside the seeded three; a Zipf-like share of the
  applications each, TELLER the largest); slot or "any time" interviews, thresholds on most;
* applications over the last 12 months, each walked along the funnel with its own delays — invited →
  linked (a user and one or two chat identities; the invitation used) → consented → booked (a slot of
  the position, some moved) → interview completed (8 indicator scores and overall; answers with their
  scores and evidence) → shortlisted at/above the threshold → next round → offer → hired — or stopped
  on the way (no-shows, of which HR later rejects most; expired "any time" interviews; rejections;
  withdrawals), the stage and every milestone column set as ``storage.hr_actions.set_stage`` would,
  with the ``decisions`` rows of each step and an ``offers`` row per offer; applications still in
  progress stop at "now";
* documents (the position's required kinds; most sets complete, some partial or missing, a few
  replaced), consents, self-declared demographics for ~60 % of the consented;
* Chinese names from surname and given-name lists (common names recur, so a name search hits
  several), a few written in pinyin.

Measured, each call in a session of its own (as a chat request does), after two warm-up calls:

* ``hr_queries.status`` of a random application in the HR user's scope, and ``hr_queries.find`` by a
  name (exact names, pinyin folded, a two-character prefix, and names nobody has): p95 ≤ 50 ms;
* ``hr_queries.overdue`` for that HR user's scope (the retail department, the largest) with the
  required documents of ``content/positions.yml``: p95 ≤ 200 ms (and, for information, the
  whole bank — the reminder job's call);
* ``actions.funnel.funnel`` and ``actions.bias.load_rows`` + ``compute`` of the largest position, all
  time: ≤ 1 s each (p95).

When a target is missed (or with ``--explain``), the operation runs once more on its slowest argument
with its SQL statements logged and timed (engine events), and the slowest statement is run under
``EXPLAIN (ANALYZE, BUFFERS)``: the statements and the plan are printed.
``--try-indexes`` then creates the candidate indexes of :data:`TRIAL_INDEXES` by hand in the bench
database (nothing in ``storage/`` or the migrations changes), measures again, prints before and after
and drops them (``--keep-indexes`` leaves them). The exit status is about the schema as migrated.

The outbox relay (≥ 200 deliveries/s) is ``bench/hr_sync.py``; run it against the same database with
``--database-url``.

Prints the figures and, last, one JSON line. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
# bench/nlu.py would shadow the nlu package: the repository root goes first, this folder not at all.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (ROOT, ROOT / "bench")]

import psycopg  # noqa: E402
from sqlalchemy import Engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from bench import pgbench_common as common  # noqa: E402
from bench.pgbench_common import Op, SqlLog, Stats, words  # noqa: E402
from storage import hr_queries  # noqa: E402
from storage.models import Application, Position, Slot  # noqa: E402
from storage.seed import seed  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/talentbot_bench"
CONTENT = ROOT / "content"
TZ = ZoneInfo("Asia/Shanghai")

TARGET_STATUS_P95_MS = 50.0  # status and find
TARGET_OVERDUE_P95_MS = 200.0
TARGET_REPORT_MS = 1000.0  # funnel, bias audit

# Indexes to try by hand (--try-indexes): (name, SQL, why). Created in the bench database only,
# measured, dropped again. Without them, each of find()'s three lookups (exact, folded, prefix) reads
# all of applications (a backward scan of the primary key for ORDER BY id DESC LIMIT, filtering on the
# name), so a name that is rare, folded or absent costs up to three full scans.
TRIAL_INDEXES: tuple[common.TrialIndex, ...] = (
    (
        "bench_try_applications_candidate_name",
        "CREATE INDEX IF NOT EXISTS bench_try_applications_candidate_name"
        " ON applications (candidate_name varchar_pattern_ops)",
        "find: candidate_name = :name and LIKE ':prefix%' (pattern ops: the database collation is not C)",
    ),
    (
        "bench_try_applications_name_folded",
        "CREATE INDEX IF NOT EXISTS bench_try_applications_name_folded"
        " ON applications ((replace(lower(candidate_name), ' ', '')))",
        "find: replace(lower(candidate_name), ' ', '') = :folded",
    ),
)


def parse_names(spec: str) -> tuple[tuple[str, str, float], ...]:
    """Surname (or given name), pinyin and weight: ``王:Wang:71 李:Li:70 …``."""
    return tuple((z, py, float(w)) for z, py, w in (item.split(":") for item in spec.split()))


def parse_weights(spec: str) -> tuple[tuple[str, float], ...]:
    return tuple((v, float(w)) for v, w in (item.split(":") for item in spec.split()))


# =========================================================================== the bank
DEPARTMENTS = words(
    "零售银行部 公司银行部 风险管理部 金融市场部 信息科技部 运营管理部 财务会计部 合规与法律部"
)
# (code, title_zh, title_en, department, share of applications); the seeded three first
CATALOGUE: tuple[tuple[str, str, str, str, float], ...] = (
    ("TELLER", "", "", "零售银行部", 14.0),
    ("RM", "", "", "公司银行部", 6.0),
    ("RISK", "", "", "风险管理部", 4.0),
    ("CSR", "客户服务专员", "Customer Service Representative", "零售银行部", 6.0),
    ("WEALTH", "理财经理", "Wealth Manager", "零售银行部", 5.0),
    ("LOBBY", "大堂经理", "Lobby Manager", "零售银行部", 4.0),
    ("CARD", "信用卡专员", "Credit Card Specialist", "零售银行部", 4.0),
    ("RLOAN", "个人贷款客户经理", "Personal Loan Officer", "零售银行部", 3.0),
    ("BRANCH-OPS", "网点运营主管", "Branch Operations Supervisor", "零售银行部", 1.5),
    ("SME-RM", "小微企业客户经理", "SME Relationship Manager", "公司银行部", 3.0),
    ("TRADE", "贸易融资专员", "Trade Finance Specialist", "公司银行部", 1.5),
    ("CASH-MGMT", "现金管理产品经理", "Cash Management Product Manager", "公司银行部", 1.0),
    ("CREDIT", "授信审查员", "Credit Analyst", "公司银行部", 2.0),
    ("MKT-RISK", "市场风险分析师", "Market Risk Analyst", "风险管理部", 1.5),
    ("AML", "反洗钱分析员", "AML Analyst", "风险管理部", 2.0),
    ("RISK-MODEL", "风险模型专员", "Risk Model Specialist", "风险管理部", 1.0),
    ("FX", "外汇交易员", "FX Trader", "金融市场部", 1.0),
    ("BOND", "债券投资经理", "Fixed Income Portfolio Manager", "金融市场部", 0.8),
    ("TREASURY", "资金管理专员", "Treasury Analyst", "金融市场部", 1.2),
    ("RESEARCH", "宏观研究员", "Macro Researcher", "金融市场部", 0.7),
    ("DEV", "Java 开发工程师", "Java Developer", "信息科技部", 3.0),
    ("DATA", "数据分析师", "Data Analyst", "信息科技部", 3.0),
    ("SEC", "信息安全工程师", "Security Engineer", "信息科技部", 1.2),
    ("IT-OPS", "运维工程师", "IT Operations Engineer", "信息科技部", 1.5),
    ("QA", "测试工程师", "QA Engineer", "信息科技部", 1.3),
    ("CLEARING", "清算专员", "Clearing Specialist", "运营管理部", 2.0),
    ("DOC-OPS", "单证处理员", "Document Processing Clerk", "运营管理部", 1.5),
    ("BACK-OFFICE", "集中作业中心专员", "Back-office Specialist", "运营管理部", 3.0),
    ("CALL", "电话银行坐席", "Call Centre Agent", "运营管理部", 6.0),
    ("ACCT", "会计核算专员", "Accountant", "财务会计部", 1.5),
    ("FPA", "财务分析师", "Financial Analyst", "财务会计部", 1.0),
    ("COMPLIANCE", "合规专员", "Compliance Officer", "合规与法律部", 1.2),
    ("LEGAL", "法务专员", "Legal Counsel", "合规与法律部", 0.6),
)
# HR users: (name, scope). The first is the one measured (the largest scope short of "*").
HR_USERS: tuple[tuple[str, list[str]], ...] = (
    ("零售招聘 王老师", ["零售银行部"]),
    ("公司招聘 李老师", ["公司银行部", "RISK"]),
    ("科技运营招聘 陈老师", ["信息科技部", "运营管理部"]),
    ("招聘负责人 赵老师", ["*"]),
)
GRADES = (("G3", 8000, 12000), ("G4", 11000, 18000), ("G5", 15000, 25000), ("G6", 22000, 35000))
LOCATION = (
    "上海市浦东新区世纪大道100号 示范银行大厦",
    "Demo Bank Tower, 100 Century Avenue, Pudong, Shanghai",
)
GENERIC_DOCUMENTS = ("id_card", "degree", "cv")

# =========================================================================== names
# (surname, pinyin or "", weight ‰ of the population, roughly)
SURNAMES = parse_names(
    "王:Wang:71 李:Li:70 张:Zhang:68 刘:Liu:54 陈:Chen:45 杨:Yang:31 黄:Huang:22 赵:Zhao:22 吴:Wu:20 "
    "周:Zhou:19 徐:Xu:13 孙:Sun:13 马:Ma:12 朱:Zhu:12 胡:Hu:11 郭:Guo:11 何:He:10 高:Gao:10 林:Lin:10 罗:Luo:9 "
    "郑:Zheng:9 梁:Liang:9 谢:Xie:7 宋:Song:7 唐:Tang:6 许:Xu:6 韩:Han:6 冯:Feng:6 邓:Deng:6 曹:Cao:5 彭:Peng:5 "
    "曾:Zeng:5 肖:Xiao:5 田:Tian:4 董:Dong:4 袁:Yuan:4 潘:Pan:4 于:Yu:4 蒋:Jiang:4 蔡:Cai:4 余:Yu:4 杜:Du:4 "
    "叶:Ye:4 程:Cheng:3 苏:Su:3 魏:Wei:3 吕:Lyu:3 丁:Ding:3 任:Ren:3 沈:Shen:3 姚:Yao:3 卢:Lu:3 姜:Jiang:3 "
    "崔:Cui:3 钟:Zhong:3 谭:Tan:3 陆:Lu:3 汪:Wang:3 范:Fan:3 金:Jin:3 石:Shi:2 廖:Liao:2 贾:Jia:2 夏:Xia:2 "
    "韦:Wei:2 方:Fang:2 白:Bai:2 邹:Zou:2 孟:Meng:2 熊:Xiong:2 秦:Qin:2 邱:Qiu:2 江:Jiang:2 尹:Yin:2 薛:Xue:2 "
    "段:Duan:1.5 雷:Lei:1.5 侯:Hou:1.5 龙:Long:1.5 史:Shi:1.5 陶:Tao:1.5 黎:Li:1.5 贺:He:1.5 顾:Gu:1.5 "
    "毛:Mao:1.5 郝:Hao:1.2 龚:Gong:1.2 邵:Shao:1.2 万:Wan:1.2 钱:Qian:1.2 严:Yan:1.2 武:Wu:1.2 戴:Dai:1.2 "
    "莫:Mo:1.0 孔:Kong:1.0 汤:Tang:1.0 欧阳:Ouyang:0.5 司马:Sima:0.1 上官:Shangguan:0.1 诸葛:Zhuge:0.1"
)
# whole given names that recur (with pinyin and a weight), and characters for the rarer two-character ones
COMMON_GIVEN = parse_names(
    "伟:Wei:9 芳:Fang:8 娜:Na:7 敏:Min:7 静:Jing:7 丽:Li:6 强:Qiang:6 磊:Lei:6 军:Jun:5 洋:Yang:5 勇:Yong:5 "
    "艳:Yan:5 杰:Jie:5 娟:Juan:4 涛:Tao:4 明:Ming:4 超:Chao:4 秀英:Xiuying:3 霞:Xia:3 平:Ping:3 刚:Gang:3 "
    "婷:Ting:4 浩然:Haoran:4 子涵:Zihan:4 欣怡:Xinyi:4 梓轩:Zixuan:3 雨桐:Yutong:3 宇航:Yuhang:3 思远:Siyuan:2 "
    "佳怡:Jiayi:3 俊杰:Junjie:3 晓东:Xiaodong:2 文博:Wenbo:2 一鸣:Yiming:2"
)
GIVEN_CHARS = "子梓浩宇轩欣怡雨涵思佳俊博文晨睿嘉一天明晓志建国华海玉兰春丹琳慧瑶鑫鹏飞凯龙雪颖悦诗萱然泽航晗妍琪昊宁安乐昕哲彤曦源"
NOBODY = ("诸葛亮亮", "司马无名", "上官不在", "zhang nobody", "欧阳查无此人")

REGIONS = parse_weights(
    "上海:30 江苏:14 浙江:12 安徽:7 山东:5 河南:5 湖北:4 江西:4 福建:3 四川:3 湖南:3 广东:3 北京:2 黑龙江:1 新疆:0.5"
)
SEXES = (("female", 55), ("male", 43), ("other", 2))
AGE_BANDS = (("under_25", 42), ("25_34", 40), ("35_44", 13), ("45_54", 4), ("55_plus", 1))
PLATFORMS = (("wecom", 45), ("webchat", 30), ("dingtalk", 15), ("telegram", 5), ("slack", 5))
INDICATORS = ("communication", "logic", "numeracy", "risk", "composure", "learning", "finance", "customer")
VERSIONS = {"rubric": "2026.11-1", "scorer": "1.4.0", "speech": "1.1.0", "asr": "whisper-base/ct2-int8"}
PASSAGES = (
    "我会先核对客户的身份证件，再按照流程办理",
    "这笔贷款的月供大约是三千二百元，按等额本息计算",
    "遇到客户情绪激动时，我会先倾听，再解释规定",
    "发现可疑交易应当及时上报反洗钱岗位，不能自行处理",
    "年化收益率百分之四点五，一年后利息是四千五百元",
    "我在实习时负责整理对公客户的授信资料",
    "先确认风险等级是否匹配，再推荐合适的理财产品",
    "柜面现金短款时必须当日查明原因并登记",
    "I would double-check the amount with the customer before confirming the transfer",
    "the interest for six months at three percent a year is fifteen hundred yuan",
    "我会把复杂的问题拆成几步，一步一步向客户说明",
    "学习新系统时我会先看操作手册，再找同事请教",
)
ANSWER_TEXTS = (
    "我之前在一家城商行实习过三个月，主要在柜面协助办理开户和转账业务，学会了按流程核对客户信息。",
    "如果客户坚持要办理不符合规定的业务，我会耐心解释原因，并请大堂经理协助沟通。",
    "这个问题我觉得首先要算清楚本金和利率，按月计息的话，一年下来利息大概是四千五百元左右。",
    "我认为风险控制是银行工作的底线，任何时候都不能为了业绩放松审核。",
    "I think the most important thing is to listen to the customer first and then explain the options.",
    "在团队里我通常负责协调和沟通，遇到分歧会先把各方的想法整理出来再讨论。",
    "遇到可疑交易，我会按照反洗钱的规定先暂停业务，再向主管报告，不会提醒客户。",
    "我学习新东西比较快，上学期自学了 Python，用它做了一个简单的记账小工具。",
    "The monthly payment would be about three thousand two hundred yuan with equal instalments.",
    "压力大的时候我会先列出要做的事情，按轻重缓急一件一件处理，保持冷静。",
)
# a question bank: (id, kind, indicator, indicator)
QUESTION_KINDS = ("behavioural", "situational", "knowledge", "numeric", "risk_judgement")
QUESTIONS: tuple[tuple[str, str, str, str], ...] = tuple(
    (
        f"{QUESTION_KINDS[i % 5]}-{i:02d}",
        QUESTION_KINDS[i % 5],
        INDICATORS[i % 8],
        INDICATORS[(i * 3 + 1) % 8] if (i * 3 + 1) % 8 != i % 8 else INDICATORS[(i + 1) % 8],
    )
    for i in range(60)
)


def weighted(pairs: Sequence[tuple[Any, float]]) -> tuple[list[Any], list[float]]:
    values = [p[0] for p in pairs]
    cum, total = [], 0.0
    for p in pairs:
        total += p[1]
        cum.append(total)
    return values, cum


class Names:
    """Chinese names from surname and given-name lists; a few in pinyin ("Wang Wei")."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.surnames, self.s_cum = weighted([((s, p), w) for s, p, w in SURNAMES])
        self.given, self.g_cum = weighted([((g, p), w) for g, p, w in COMMON_GIVEN])

    def __call__(self) -> str:
        rng = self.rng
        surname, s_pinyin = rng.choices(self.surnames, cum_weights=self.s_cum)[0]
        r = rng.random()
        if r < 0.55:
            given, g_pinyin = rng.choices(self.given, cum_weights=self.g_cum)[0]
            if rng.random() < 0.04:
                return f"{s_pinyin} {g_pinyin}"
            return surname + given
        if r < 0.62:
            return surname + rng.choice(GIVEN_CHARS)
        return surname + rng.choice(GIVEN_CHARS) + rng.choice(GIVEN_CHARS)


# =========================================================================== database set-up
def reset(engine: Engine, now: datetime) -> None:
    """Every domain table emptied (ids from 1 again), the demo bank seeded (the schema is at head)."""
    common.truncate_all(engine)
    with Session(engine) as s, s.begin():
        seed(s, content_dir=CONTENT, now=now, tz=TZ)


# =========================================================================== generation
@dataclass(slots=True)
class Pos:
    id: int
    code: str
    department: str
    mode: str  # slot | anytime
    minutes: int
    window_hours: int
    window_days: int
    questions: int
    text_answers: bool
    threshold: float | None
    grade: str | None
    salary: tuple[int, int] | None
    documents_days: int
    times: tuple[str, ...]
    kinds: tuple[str, ...]
    share: float


def add_positions(engine: Engine, rng: random.Random) -> list[Pos]:
    """The 30 generated positions beside the seeded three; all 33 as :class:`Pos`."""
    from flows.documents import DocumentRules
    from storage.seed import load_bank

    required = DocumentRules.load(CONTENT).required
    bank = {p["code"]: p for p in load_bank(CONTENT)["positions"]}
    rows = []
    for code, zh, en, dept, _ in CATALOGUE[3:]:
        anytime = rng.random() < 0.2
        grade = rng.choice(GRADES)
        rows.append(
            {
                "code": code,
                "title_zh": zh,
                "title_en": en,
                "department": dept,
                "location_zh": LOCATION[0],
                "location_en": LOCATION[1],
                "interview_minutes": rng.choice((30, 45)),
                "active": rng.random() < 0.9,
                "interview_mode": "anytime" if anytime else "slot",
                "interview_window_days": 3,
                "interview_window_hours": 24,
                "question_count": rng.choice((6, 8, 8, 10)),
                "text_answers": anytime,
                "threshold": None if rng.random() < 0.3 else float(rng.choice((60, 65, 68, 70, 72, 75))),
                "grade": grade[0],
                "salary_min": grade[1],
                "salary_max": grade[2],
                "documents_days": rng.choice((5, 7, 7, 10)),
            }
        )
    with Session(engine) as s, s.begin():
        s.execute(Position.__table__.insert(), rows)
    share = {c[0]: c[4] for c in CATALOGUE}
    out = []
    with Session(engine) as s:
        for p in s.scalars(select(Position).order_by(Position.id)):
            times = (
                tuple(bank[p.code]["slots"]["times"])
                if p.code in bank
                else ("09:30", "11:00", "14:30", "16:00")
            )
            out.append(
                Pos(
                    id=p.id,
                    code=p.code,
                    department=p.department,
                    mode=p.interview_mode,
                    minutes=p.interview_minutes,
                    window_hours=p.interview_window_hours,
                    window_days=p.interview_window_days,
                    questions=p.question_count,
                    text_answers=p.text_answers,
                    threshold=p.threshold,
                    grade=p.grade,
                    salary=(p.salary_min, p.salary_max) if p.salary_min and p.salary_max else None,
                    documents_days=p.documents_days,
                    times=times,
                    kinds=tuple(required.get(p.code.upper()) or GENERIC_DOCUMENTS),
                    share=share[p.code],
                )
            )
    return out


COLUMNS: dict[str, tuple[str, ...]] = {
    "users": words("id display_name role scope language created_at"),
    "identities": words("id user_id platform external_id conversation_id last_seen_at"),
    "applications": words(
        "id position_id user_id candidate_name stage needs_human text_answers created_at updated_at priority round salary_expectation documents_due_at score_override review_requested_at booked_at interviewed_at shortlisted_at next_round_at offer_at hired_at rejected_at"
    ),
    "invitations": words("id application_id code_sha256 expires_at used_at used_by"),
    "consents": words("id user_id application_id kind granted notice_version at"),
    "slots": words("id position_id starts_at ends_at capacity booked round application_id"),
    "bookings": words("id application_id slot_id status created_at ended_at"),
    "interviews": words(
        "id application_id round booking_id status language seed max_questions text_answers opens_at expires_at started_at completed_at turn question_id is_probe awaiting asked_at attempts sequence overall scores versions updated_at"
    ),
    "answers": words(
        "id interview_id turn attempt question_id is_probe kind platform message_id media_ref media_mime text transcript late status problem received_at processed_at"
    ),
    "answer_scores": words(
        "id answer_id score result rubric_version scorer_version speech_version asr_model created_at"
    ),
    "documents": words(
        "id application_id kind status sha256 mime size filename platform message_id received_at replaced_at"
    ),
    "demographics": words("id application_id sex age_band region declared_at"),
    "decisions": words("id application_id kind actor reason data input_versions at"),
    "offers": words(
        "id application_id status salary grade start_date language file_format file_sha256 created_by created_at sent_at"
    ),
}
MIMES = {"id_card": "image/jpeg", "degree": "application/pdf", "cv": "application/pdf"}


@dataclass(slots=True)
class AnswerPlan:
    interview_id: int
    weight: int  # the natural number of answer rows (scaled to the total later)
    questions: int
    completed: bool
    text_answers: bool
    platform: str
    language: str
    overall: float
    started_at: datetime
    ended_at: datetime
    live: bool = False  # in progress: its last answer is still being scored
    count: int = 0


@dataclass
class Dataset:
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {t: [] for t in COLUMNS})
    plans: list[AnswerPlan] = field(default_factory=list)
    stages: dict[str, int] = field(default_factory=dict)


def sha(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


class Generator:
    """A year of recruiting at the bank, walked application by application (see the module doc)."""

    def __init__(
        self, rng: random.Random, now: datetime, positions: Sequence[Pos], seeded_slots: dict
    ) -> None:
        self.rng = rng
        self.now = now
        self.positions = positions
        self.pos_list, self.pos_cum = weighted([(p, p.share) for p in positions])
        self.names = Names(rng)
        self.d = Dataset()
        self.ids: dict[str, int] = dict.fromkeys(COLUMNS, 0)
        # (position id, start) → [id, end, made here]; the seeded ones are in the database already
        self.slots: dict[tuple[int, datetime], list[Any]] = dict(seeded_slots)
        self.slot_starts = {v[0]: k[1] for k, v in seeded_slots.items()}
        self.ids["slots"] = max((v[0] for v in seeded_slots.values()), default=0)
        self.people: list[tuple[int, str, str, str, int]] = []  # (user, name, platform, language, identity)
        self.hr_ids: list[int] = []
        self.regions = weighted(REGIONS)
        self.sexes = weighted(SEXES)
        self.ages = weighted(AGE_BANDS)
        self.platforms = weighted(PLATFORMS)
        self.versions = json.dumps(VERSIONS)

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def add(self, table: str, *values: Any) -> None:
        self.d.rows[table].append(values)

    def pick(self, pair: tuple[list[Any], list[float]]) -> Any:
        return self.rng.choices(pair[0], cum_weights=pair[1])[0]

    # ------------------------------------------------------------------ helpers
    def hours(self, lo: float, hi: float) -> timedelta:
        return timedelta(hours=self.rng.uniform(lo, hi))

    def expo_hours(self, mean: float, cap: float) -> timedelta:
        return timedelta(hours=min(cap, self.rng.expovariate(1 / mean)))

    def created_at(self) -> datetime:
        """Within the last 365 days, busier in the spring and autumn campaigns, on office hours."""
        rng = self.rng
        while True:
            days = rng.uniform(0, 365)
            day = (self.now - timedelta(days=days)).astimezone(TZ).date()
            season = 1.0 + 0.6 * math.cos((day.timetuple().tm_yday - 80) / 365 * 4 * math.pi)
            weekday = 0.35 if day.weekday() >= 5 else 1.0
            if rng.random() * 1.6 < season * weekday:
                break
        at = datetime.combine(day, dtime(8, 30), tzinfo=TZ) + timedelta(minutes=rng.uniform(0, 600))
        return min(at.astimezone(UTC), self.now - timedelta(minutes=5))

    def slot(self, pos: Pos, after: datetime) -> int:
        """A round-1 slot of ``pos`` on a working day 1–5 days after ``after`` (made when missing)."""
        rng = self.rng
        day = (after + timedelta(days=1 + rng.randint(0, 4))).astimezone(TZ).date()
        while day.weekday() >= 5:
            day += timedelta(days=1)
        hh, mm = (int(x) for x in rng.choice(pos.times).split(":"))
        starts = datetime.combine(day, dtime(hh, mm), tzinfo=TZ).astimezone(UTC)
        key = (pos.id, starts)
        found = self.slots.get(key)
        if found is None:
            found = [self.next_id("slots"), starts + timedelta(minutes=pos.minutes), True]
            self.slots[key] = found
            self.slot_starts[found[0]] = starts
        return found[0]

    def decide(
        self, app_id: int, kind: str, actor: str, at: datetime, reason: str | None, data: dict
    ) -> None:
        vs = self.versions if actor.startswith("system") else "{}"
        self.add(
            "decisions",
            self.next_id("decisions"),
            app_id,
            kind,
            actor,
            reason,
            json.dumps(data, ensure_ascii=False),
            vs,
            at,
        )

    # ------------------------------------------------------------------ the walk
    def users(self) -> None:
        t0 = self.now - timedelta(days=400)
        for name, scope in HR_USERS:
            uid = self.next_id("users")
            self.hr_ids.append(uid)
            self.add("users", uid, name, "hr", json.dumps(scope, ensure_ascii=False), "zh", t0)

    def application(self) -> None:
        rng, now = self.rng, self.now
        pos: Pos = rng.choices(self.pos_list, cum_weights=self.pos_cum)[0]
        app_id = self.next_id("applications")
        created = self.created_at()
        hr = f"user:{self.hr_ids[0] if pos.department == DEPARTMENTS[0] else rng.choice(self.hr_ids)}"
        a: dict[str, Any] = {
            "stage": "invited",
            "user_id": None,
            "updated_at": created,
            "priority": False,
            "round": 1,
            "salary": None,
            "override": None,
            "review": None,
        }
        ms: dict[str, datetime | None] = dict.fromkeys(
            ("booked", "interviewed", "shortlisted", "next_round", "offer", "hired", "rejected")
        )
        reuse = self.people and rng.random() < 0.04
        if reuse:  # somebody applying again (another position, the same person)
            uid, name, platform, lang, ident = rng.choice(self.people)
        else:
            uid, name, platform, lang, ident = (
                0,
                self.names(),
                self.pick(self.platforms),
                "en" if rng.random() < 0.12 else "zh",
                0,
            )
        due = created + timedelta(days=pos.documents_days)
        inv_id = self.next_id("invitations")
        inv = [inv_id, app_id, sha(f"bench-invitation-{app_id}"), created + timedelta(days=14), None, None]

        def stage(st: str, at: datetime) -> None:
            a["stage"], a["updated_at"] = st, at
            if st in ms and ms[st] is None:
                ms[st] = at

        def finish() -> None:
            self.add(
                "applications",
                app_id,
                pos.id,
                a["user_id"],
                name,
                a["stage"],
                False,
                pos.text_answers and rng.random() < 0.01,
                created,
                a["updated_at"],
                a["priority"],
                a["round"],
                a["salary"],
                due,
                a["override"],
                a["review"],
                ms["booked"],
                ms["interviewed"],
                ms["shortlisted"],
                ms["next_round"],
                ms["offer"],
                ms["hired"],
                ms["rejected"],
            )
            self.add("invitations", *inv)
            self.d.stages[a["stage"]] = self.d.stages.get(a["stage"], 0) + 1

        def onward(
            point: str, after: datetime, withdrawn_within: float, wait: tuple[float, float]
        ) -> datetime | None:
            """The next step, ``wait`` (hours, from–to) after ``after``; None when the walk ends here
            (finished): the candidate withdraws at ``point`` (24 to ``withdrawn_within`` hours later, the
            stage set once that has come), or the next step is still to come."""
            if withdraw_at == point:
                at = after + self.hours(24, withdrawn_within)
                if at < now:
                    stage("withdrawn", at)
                finish()
                return None
            at = after + self.hours(*wait)
            if at > now:
                finish()
                return None
            return at

        # ---- linked
        t = created + self.expo_hours(20, 24 * 12)
        if rng.random() > 0.93 or t > now:
            finish()
            return
        if not uid:
            uid = self.next_id("users")
            self.add("users", uid, name, "candidate", "[]", lang, t)
            ident = self.next_id("identities")
            self.add("identities", ident, uid, platform, f"{platform}-{uid}", f"{platform}-conv-{uid}", t)
            if rng.random() < 0.1:
                other = "webchat" if platform != "webchat" else "wecom"
                self.add(
                    "identities",
                    self.next_id("identities"),
                    uid,
                    other,
                    f"{other}-{uid}",
                    f"{other}-conv-{uid}",
                    t,
                )
            self.people.append((uid, name, platform, lang, ident))
        inv[4], inv[5] = t, ident
        a["user_id"] = uid
        stage("linked", t)
        if rng.random() < 0.12:
            a["salary"] = (
                int(rng.gauss(1, 0.15) * (pos.salary[0] + pos.salary[1]) / 2 / 500) * 500
                if pos.salary
                else None
            )
        withdraw_at = (
            rng.choice(("consented", "booked", "interviewed", "next_round")) if rng.random() < 0.035 else ""
        )

        # ---- documents (on their own clock from linking)
        self.documents(app_id, pos, uid, platform, t, due)

        # ---- consented
        t = t + self.expo_hours(2, 24 * 4)
        if rng.random() > 0.95 or t > now:
            finish()
            return
        stage("consented", t)
        for kind in ("ai_notice", "voice"):
            self.add("consents", self.next_id("consents"), uid, app_id, kind, True, "2026.10", t)
        if rng.random() < 0.6:
            self.demographics(app_id, uid, t)
        if withdraw_at == "consented":
            at = t + self.hours(24, 24 * 10)
            if at <= now:
                stage("withdrawn", at)
            finish()
            return

        # ---- booked (slot) or an "any time" window
        booking_id = None
        if pos.mode == "slot":
            t = t + self.expo_hours(20, 24 * 6)
            if rng.random() > 0.92 or t > now:
                finish()
                return
            slot_id = self.slot(pos, t)
            if rng.random() < 0.06:  # moved once: the first booking ends when the second is made
                moved_to = t + self.hours(2, 48)
                if moved_to < now:
                    first = self.next_id("bookings")
                    self.add("bookings", first, app_id, slot_id, "moved", t, moved_to)
                    stage("booked", t)
                    t = moved_to
                    slot_id = self.slot(pos, t)
            booking_id = self.next_id("bookings")
            self.add("bookings", booking_id, app_id, slot_id, "active", t, None)
            stage("booked", t)
            opens = self.slot_starts[slot_id]
            expires = opens + timedelta(hours=pos.window_hours)
        else:
            opens = t
            expires = t + timedelta(days=pos.window_days)
        iv_id = self.next_id("interviews")
        iv_seed = rng.randint(1, 2**31 - 1)
        if withdraw_at == "booked":
            end = t + self.hours(12, 24 * 5)
            if end < now and end < opens:
                if booking_id is not None:
                    self.d.rows["bookings"][-1] = (booking_id, app_id, slot_id, "cancelled", t, end)
                self.interview(
                    iv_id, app_id, booking_id, "cancelled", pos, lang, iv_seed, opens, expires, end
                )
                stage("withdrawn", end)
                finish()
                return

        # ---- the interview
        shows = rng.random() < (0.88 if pos.mode == "slot" else 0.85)
        if pos.mode == "slot":
            started = opens + timedelta(minutes=rng.uniform(0, 90))
        else:
            started = opens + self.expo_hours(16, pos.window_days * 24 - 2)
        done = started + timedelta(minutes=rng.uniform(12, 40))
        if started > now or not shows:
            # not (yet) started: open until it expires, then expired; HR rejects most old no-shows
            status = "open" if expires > now else "expired"
            partial = shows is False and status == "expired" and rng.random() < 0.2
            self.interview(
                iv_id,
                app_id,
                booking_id,
                status,
                pos,
                lang,
                iv_seed,
                opens,
                expires,
                min(expires, now),
                started=started if partial else None,
            )
            if partial:
                self.plan(iv_id, pos, False, platform, lang, 60.0, started, started + timedelta(minutes=8))
            if status == "expired" and now - expires > timedelta(days=10) and rng.random() < 0.75:
                at = expires + self.hours(24 * 2, 24 * 10)
                stage("rejected", at)
                self.decide(app_id, "reject", hr, at, "未参加面试 / no-show", {"why": "no_show"})
            elif status == "expired" and rng.random() < 0.3:
                self.decide(
                    app_id, "reminded", hr, expires + self.hours(1, 48), None, {"why": "missed_interview"}
                )
            finish()
            return
        if done > now:  # in progress
            stage("interviewing", started)
            self.interview(
                iv_id, app_id, booking_id, "active", pos, lang, iv_seed, opens, expires, now, started=started
            )
            self.plan(iv_id, pos, False, platform, lang, 65.0, started, now, live=True)
            finish()
            return
        overall = round(min(98.0, max(12.0, rng.gauss(64, 13))), 1)
        scores = {}
        for ind in INDICATORS:
            scores[ind] = round(min(100.0, max(0.0, overall + rng.gauss(0, 9))), 1)
        if rng.random() < 0.15:
            scores["numeracy"] = None
        if rng.random() < 0.1:
            scores["finance"] = None
        self.interview(
            iv_id,
            app_id,
            booking_id,
            "completed",
            pos,
            lang,
            iv_seed,
            opens,
            expires,
            done,
            started=started,
            completed=done,
            overall=overall,
            scores=scores,
        )
        self.plan(iv_id, pos, True, platform, lang, overall, started, done)
        stage("interviewed", done)
        effective = overall
        if rng.random() < 0.01:
            new = round(min(100.0, overall + rng.uniform(-10, 10)), 1)
            at = done + self.hours(24, 72)
            if at < now:
                a["override"] = new
                effective = new
                self.decide(
                    app_id, "override_score", hr, at, "复核录音后调整", {"original": overall, "new": new}
                )
        if rng.random() < 0.005:
            a["review"] = done + self.hours(1, 48)
        if pos.threshold is not None and effective >= pos.threshold:
            stage("shortlisted", done)
            self.decide(
                app_id,
                "shortlisted",
                "system:automation",
                done,
                None,
                {"score": effective, "threshold": pos.threshold, "overridden": a["override"] is not None},
            )
        if rng.random() < 0.03:
            a["priority"] = True
            self.decide(app_id, "priority", hr, done + self.hours(1, 24), None, {"priority": True})

        # ---- HR's review: next round or reject
        reviewed = onward("interviewed", done, 24 * 7, (24 * 2, 24 * 10))
        if reviewed is None:
            return
        t = reviewed
        r = rng.random()
        if a["stage"] == "shortlisted":
            go = r < 0.55
            stay = r > 0.9
        elif pos.threshold is None:
            go = r < 0.35
            stay = r > 0.85
        else:  # below the threshold: HR may still pick a few
            go = r < 0.05
            stay = r > 0.85
        if stay:
            finish()
            return
        if not go:
            stage("rejected", t)
            self.decide(app_id, "reject", hr, t, rng.choice(("综合评估未通过", "岗位已满", None)), {})
            finish()
            return
        stage("next_round", t)
        a["round"] = 2
        self.decide(app_id, "next_round", hr, t, None, {"score": effective})
        if rng.random() < 0.7:  # an in-person slot offered to this candidate
            day = (t + timedelta(days=rng.randint(2, 7))).astimezone(TZ).date()
            starts = datetime.combine(day, dtime(rng.choice((10, 14, 15)), 20), tzinfo=TZ).astimezone(UTC)
            key = (pos.id, starts)
            if key not in self.slots:
                sid = self.next_id("slots")
                self.slots[key] = [sid, starts + timedelta(minutes=60), False]
                self.add("slots", sid, pos.id, starts, starts + timedelta(minutes=60), 1, 0, 2, app_id)

        # ---- offer
        offered = onward("next_round", t, 24 * 10, (24 * 7, 24 * 21))
        if offered is None:
            return
        t = offered
        r = rng.random()
        if r < 0.4:
            stage("rejected", t)
            self.decide(app_id, "reject", hr, t, "第二轮面试未通过", {"round": 2})
            finish()
            return
        if r < 0.5:
            stage("withdrawn", t)
            finish()
            return
        stage("offer", t)
        lo, hi = pos.salary or (10000, 15000)
        salary = int(rng.uniform(lo, hi) / 500) * 500
        self.add(
            "offers", self.next_id("offers"), app_id, "sent", salary, pos.grade,
            (t + timedelta(days=30)).date().isoformat(), lang, "pdf", sha(f"offer-{app_id}"),
            int(hr.split(":")[1]), t - self.hours(1, 24), t,
        )  # fmt: skip
        self.decide(app_id, "offer", hr, t, None, {"salary": salary, "grade": pos.grade})

        # ---- hired
        t = t + self.hours(24 * 7, 24 * 30)
        if t > now:
            finish()
            return
        if rng.random() < 0.82:
            stage("hired", t)
            self.decide(app_id, "hired", hr, t, None, {})
        else:  # declined the offer
            stage("withdrawn", t)
        finish()

    def interview(
        self,
        iv_id: int,
        app_id: int,
        booking_id: int | None,
        status: str,
        pos: Pos,
        lang: str,
        iv_seed: int,
        opens: datetime,
        expires: datetime,
        updated: datetime,
        *,
        started: datetime | None = None,
        completed: datetime | None = None,
        overall: float | None = None,
        scores: dict[str, float | None] | None = None,
    ) -> None:
        q = pos.questions
        seq = [{"question_id": QUESTIONS[(iv_seed + i) % 60][0], "why": "plan"} for i in range(q)]
        live = status == "active"
        self.add(
            "interviews",
            iv_id,
            app_id,
            1,
            booking_id,
            status,
            lang,
            iv_seed,
            q,
            pos.text_answers,
            opens,
            expires,
            started,
            completed,
            q if completed else (self.rng.randint(1, q) if started else 0),
            seq[-1]["question_id"] if started else None,
            False,
            "answer" if live else "",
            updated if live else None,
            0,
            json.dumps(seq),
            overall,
            json.dumps(scores) if scores is not None else None,
            self.versions if completed else "{}",
            updated,
        )

    def plan(
        self,
        iv_id: int,
        pos: Pos,
        completed: bool,
        platform: str,
        lang: str,
        overall: float,
        started: datetime,
        ended: datetime,
        *,
        live: bool = False,
    ) -> None:
        rng = self.rng
        q = pos.questions
        natural = (
            q + rng.choice((0, 1, 1, 2, 2, 3)) + (1 if rng.random() < 0.4 else 0)
            if completed
            else rng.randint(1, q - 1)
        )
        self.d.plans.append(
            AnswerPlan(
                iv_id, natural, q, completed, pos.text_answers, platform, lang, overall, started, ended, live
            )
        )

    def documents(
        self, app_id: int, pos: Pos, uid: int, platform: str, linked: datetime, due: datetime
    ) -> None:
        rng, now = self.rng, self.now
        r = rng.random()
        if r < 0.08:
            return
        kinds = list(pos.kinds)
        if r < 0.2:  # partial
            kinds = rng.sample(kinds, rng.randint(1, max(1, len(kinds) - 1)))
        first = None
        span = (due - linked).total_seconds() / 3600 * 1.2
        for kind in kinds:
            at = linked + self.hours(0.1, max(0.2, span))
            if at > now:
                continue
            first = at if first is None or at < first else first
            mime = MIMES.get(kind, "application/pdf")
            ext = "jpg" if mime == "image/jpeg" else "pdf"
            if rng.random() < 0.05:  # an earlier copy, replaced
                self.add(
                    "documents", self.next_id("documents"), app_id, kind, "replaced", sha(f"d{app_id}{kind}old"),
                    mime, rng.randint(80_000, 3_000_000), f"{kind}_old.{ext}", platform, f"m-doc-{app_id}-{kind}-0",
                    at - self.hours(1, 24), at,
                )  # fmt: skip
            self.add(
                "documents", self.next_id("documents"), app_id, kind, "current", sha(f"d{app_id}{kind}"),
                mime, rng.randint(80_000, 3_000_000), f"{kind}.{ext}", platform, f"m-doc-{app_id}-{kind}",
                at, None,
            )  # fmt: skip
        if first is not None:
            self.add("consents", self.next_id("consents"), uid, app_id, "documents", True, "2026.10", first)
            if rng.random() < 0.02:
                self.add(
                    "documents", self.next_id("documents"), app_id, None, "unclassified", sha(f"d{app_id}x"),
                    "image/jpeg", 250_000, None, platform, f"m-doc-{app_id}-x", first, None,
                )  # fmt: skip

    def demographics(self, app_id: int, uid: int, at: datetime) -> None:
        rng = self.rng
        at = at + timedelta(minutes=rng.uniform(1, 30))
        if at > self.now:
            return
        sex = self.pick(self.sexes) if rng.random() < 0.93 else None
        age = self.pick(self.ages) if rng.random() < 0.9 else None
        region = self.pick(self.regions) if rng.random() < 0.8 else None
        self.add("demographics", self.next_id("demographics"), app_id, sex, age, region, at)
        self.add("consents", self.next_id("consents"), uid, app_id, "demographics", True, "2026.10", at)

    # ------------------------------------------------------------------ answers (streamed)
    def scale_answers(self, total: int) -> None:
        plans = self.d.plans
        natural = sum(p.weight for p in plans)
        if not plans:
            return
        f = total / natural
        for p in plans:
            p.count = max(1, int(p.weight * f))
        left = total - sum(p.count for p in plans)
        done = [p for p in plans if p.completed] or plans
        while left:
            p = self.rng.choice(done)
            if left > 0:
                p.count += 1
                left -= 1
            elif p.count > 1:
                p.count -= 1
                left += 1

    def answers(self) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...] | None]]:
        """(answer row, answer_scores row or None) for every planned interview."""
        rng = self.rng
        aid = 0
        sid = 0
        for p in self.d.plans:
            n = p.count
            retries = min(n // 2, sum(1 for _ in range(n) if rng.random() < 0.06))  # each is one extra row
            turns = n - retries
            probes = max(0, turns - p.questions)
            probe_turns = set(rng.sample(range(2, turns + 1), probes)) if probes else set()
            retry_turns = set(rng.sample(range(1, turns + 1), retries))
            step = (p.ended_at - p.started_at) / (n + 1)
            at = p.started_at
            qn = -1
            seed = p.interview_id * 7919
            for turn in range(1, turns + 1):
                probe = turn in probe_turns
                if not probe:
                    qn += 1
                qid, qkind, ind1, ind2 = QUESTIONS[(seed + qn) % 60]
                attempts = 2 if turn in retry_turns else 1
                for attempt in range(1, attempts + 1):
                    aid += 1
                    at = at + step
                    last = attempt == attempts
                    pending = last and p.live and turn == turns
                    status = "pending" if pending else "scored" if last else "rejected"
                    voice = not p.text_answers or rng.random() < 0.3
                    txt = ANSWER_TEXTS[(aid * 31 + turn) % len(ANSWER_TEXTS)] if last else None
                    row = (
                        aid,
                        p.interview_id,
                        turn,
                        attempt,
                        qid,
                        probe,
                        "voice" if voice else "text",
                        p.platform,
                        f"m-{p.interview_id}-{turn}-{attempt}",
                        f"{aid:064x}" if voice else None,
                        "audio/ogg" if voice else None,
                        txt,
                        f'{{"language": "{p.language}", "duration": {rng.uniform(4, 90):.1f}}}'
                        if voice and last
                        else None,
                        rng.random() < 0.02,
                        status,
                        None if last else rng.choice(("too_short", "no_speech", "noisy")),
                        at,
                        None if pending else at + timedelta(seconds=rng.uniform(2, 40)),
                    )
                    score_row = None
                    if status == "scored":
                        sid += 1
                        s1 = round(min(100.0, max(0.0, p.overall + rng.gauss(0, 10))), 1)
                        s2 = round(min(100.0, max(0.0, p.overall + rng.gauss(0, 10))), 1)
                        score = round((s1 + s2) / 2, 1)
                        k2 = "numeric" if ind2 == "numeracy" else "key_point"
                        result = {
                            "question_id": qid,
                            "kind": qkind,
                            "score": score,
                            "subscores": {ind1: s1, ind2: s2},
                            "evidence": {
                                ind1: [
                                    {
                                        "kind": "key_point",
                                        "ref": f"kp{turn % 4 + 1}",
                                        "question_id": qid,
                                        "passage": PASSAGES[(aid + 3) % len(PASSAGES)],
                                        "detail": "matched",
                                    }
                                ],
                                ind2: [
                                    {
                                        "kind": k2 if s2 >= 40 else "red_flag",
                                        "ref": f"kp{turn % 3 + 1}",
                                        "question_id": qid,
                                        "passage": PASSAGES[(aid * 7) % len(PASSAGES)],
                                        "detail": "matched" if s2 >= 40 else "flagged",
                                    }
                                ],
                            },
                        }
                        score_row = (
                            sid,
                            aid,
                            score,
                            json.dumps(result, ensure_ascii=False),
                            VERSIONS["rubric"],
                            VERSIONS["scorer"],
                            VERSIONS["speech"] if voice else None,
                            VERSIONS["asr"] if voice else None,
                            row[17],
                        )
                    yield row, score_row


def load(url: str, gen: Generator) -> dict[str, int]:
    """COPY everything in one transaction per connection (answers and their scores stream side by side
    on two connections), foreign-key triggers off; then the sequences and the slots' booked counts."""
    counts: dict[str, int] = {}
    gen.d.rows["slots"].extend(
        (v[0], pid, starts, v[1], 2, 0, 1, None) for (pid, starts), v in gen.slots.items() if v[2] is True
    )
    conninfo = common.conninfo(url)
    with psycopg.connect(conninfo) as conn, psycopg.connect(conninfo) as conn2:
        cur, cur2 = conn.cursor(), conn2.cursor()
        for c in (cur, cur2):
            common.triggers_off(c)
        for table, rows in gen.d.rows.items():
            if rows:
                counts[table] = common.copy_rows(cur, table, COLUMNS[table], rows)
                rows.clear()
        n_a = n_s = 0
        with (
            cur.copy(common.copy_statement("answers", COLUMNS["answers"])) as ca,
            cur2.copy(common.copy_statement("answer_scores", COLUMNS["answer_scores"])) as cs,
        ):
            for row, score in gen.answers():
                ca.write_row(row)
                n_a += 1
                if score is not None:
                    cs.write_row(score)
                    n_s += 1
        counts["answers"], counts["answer_scores"] = n_a, n_s
        conn2.commit()
        common.reset_sequences(cur)
        cur.execute(
            "UPDATE slots SET booked = b.n, capacity = greatest(capacity, b.n) FROM"
            " (SELECT slot_id, count(*) AS n FROM bookings WHERE status = 'active' GROUP BY slot_id) b"
            " WHERE b.slot_id = slots.id"
        )
        conn.commit()
    return counts


def generate(engine: Engine, url: str, n_apps: int, n_answers: int, rng_seed: int) -> dict[str, Any]:
    """Empty the bench database, generate and load a fresh dataset. Returns timings and figures."""
    t0 = time.perf_counter()
    rng = random.Random(rng_seed)
    now = datetime.now(UTC).replace(microsecond=0)
    reset(engine, now)
    positions = add_positions(engine, rng)
    with Session(engine) as s:
        seeded = {
            (pid, st): [sid, et, False]
            for sid, pid, st, et in s.execute(select(Slot.id, Slot.position_id, Slot.starts_at, Slot.ends_at))
        }
    gen = Generator(rng, now, positions, seeded)
    gen.users()
    for _ in range(n_apps):
        gen.application()
    gen.scale_answers(n_answers)
    plans = gen.d.plans
    completed = sum(1 for p in plans if p.completed)
    per = [p.count for p in plans if p.completed]
    stages = dict(sorted(gen.d.stages.items(), key=lambda kv: -kv[1]))
    return {
        **common.load_timed(url, t0, lambda: load(url, gen)),
        "stages": stages,
        "completed_interviews": completed,
        "answers_per_completed_interview": round(sum(per) / max(1, len(per)), 1),
    }


# =========================================================================== measuring
def build_ops(
    engine: Engine, args: argparse.Namespace, rng: random.Random
) -> tuple[list[Op], dict[str, Any]]:
    from actions import bias
    from actions import funnel as fn
    from flows.documents import DocumentRules

    sessions = sessionmaker(engine, expire_on_commit=False)
    required = DocumentRules.load(CONTENT).required
    with sessions() as s:
        hr = s.execute(text("SELECT id, scope FROM users WHERE role = 'hr' ORDER BY id LIMIT 1")).one()
        scope = hr_queries.Scope(hr[0], tuple(hr[1] if isinstance(hr[1], list) else json.loads(hr[1])))
        everything = hr_queries.Scope(hr[0], ("*",))
        in_scope = select(Application.id, Application.candidate_name).join(Position).where(scope.clause())
        rows = s.execute(in_scope).all()
        biggest = s.execute(
            select(Position.id, Position.code, func.count(Application.id).label("n"))
            .join(Application, Application.position_id == Position.id)
            .group_by(Position.id, Position.code)
            .order_by(text("n DESC"))
            .limit(1)
        ).one()
    ids = [r[0] for r in rows]
    names = [r[1] for r in rows]
    chinese3 = [n for n in names if len(n) == 3 and n.isalpha() and not n.isascii()]
    pinyin = [n for n in names if n.isascii() and " " in n]
    find_args: list[tuple[str, Any]] = []
    for _ in range(args.n_status):
        r = rng.random()
        if r < 0.7 or not (pinyin and chinese3):
            find_args.append(("exact", rng.choice(names)))
        elif r < 0.8:
            find_args.append(("folded", rng.choice(pinyin).lower().replace(" ", "")))
        elif r < 0.9:
            find_args.append(("prefix", rng.choice(chinese3)[:2]))
        else:
            find_args.append(("nobody", rng.choice(NOBODY)))
    now = datetime.now(UTC)

    def status(app_id: int) -> None:
        with sessions() as s:
            assert hr_queries.status(s, scope, app_id) is not None

    def find(name: str) -> None:
        with sessions() as s:
            hr_queries.find(s, scope, names=[name])

    def overdue(sc: hr_queries.Scope) -> None:
        with sessions() as s:
            hr_queries.overdue(s, sc, now=now, required=required)

    def funnel(pid: int) -> None:
        with sessions() as s:
            pos = s.get(Position, pid)
            assert pos is not None
            if hasattr(fn, "funnel"):
                fn.funnel(s, positions=[pos], tz=TZ)
            else:  # the module as it was before funnel() (load + compute)
                counts = fn.load_counts(s, position_ids=[pid])
                fn.compute(counts, positions=[(pos.code, pos.threshold)])

    def audit(pid: int) -> None:
        with sessions() as s:
            rows = bias.load_rows(s, position_id=pid)
            bias.compute(rows, position=biggest[1])

    ops = [
        Op("status", TARGET_STATUS_P95_MS, [("id", rng.choice(ids)) for _ in range(args.n_status)], status),
        Op("find", TARGET_STATUS_P95_MS, find_args, find),
        Op("overdue", TARGET_OVERDUE_P95_MS, [("scope", scope)] * args.n_overdue, overdue),
        Op("overdue_all", None, [("*", everything)] * max(3, args.n_overdue // 5), overdue),
        Op("funnel", TARGET_REPORT_MS, [("pos", biggest[0])] * args.n_funnel, funnel),
        Op("bias", TARGET_REPORT_MS, [("pos", biggest[0])] * args.n_bias, audit),
    ]
    why: dict[str, int] = {}
    try:
        with sessions() as s:
            listed = hr_queries.overdue(s, scope, now=now, required=required)
            n_overdue_all = len(hr_queries.overdue(s, everything, now=now, required=required))
        n_overdue = len(listed)
        for r in listed:
            why[str(r.why)] = why.get(str(r.why), 0) + 1
    except Exception:  # reported by the measurement
        n_overdue = n_overdue_all = -1
    info = {
        "hr_user": hr[0],
        "scope": list(scope.items),
        "applications_in_scope": len(ids),
        "overdue_in_scope": n_overdue,
        "overdue_why": why,
        "overdue_everywhere": n_overdue_all,
        "position": biggest[1],
        "position_applications": int(biggest[2]),
    }
    return ops, info


def explain(engine: Engine, log: SqlLog, op: Op, st: Stats) -> list[str]:
    """The statements of one run of ``op`` on its slowest argument, and the plan of the slowest one."""
    run = common.rerun_worst(log, op, st)
    if run is None:
        return []
    kind, arg, entries = run
    out = [f"  {op.name} ({kind} {arg if not isinstance(arg, hr_queries.Scope) else list(arg.items)}):"]
    out += [common.statement_line(stmt, ms, 1) for stmt, _, ms in sorted(entries, key=lambda e: -e[2])[:4]]
    if not entries:
        return out
    stmt, params, _ = max(entries, key=lambda e: e[2])
    with engine.connect() as conn:
        plan = common.explain_plan(conn, stmt, params)
    return [*out, "    EXPLAIN (ANALYZE, BUFFERS) of the slowest:", *plan]


# =========================================================================== main
def main() -> int:
    ap = common.parser(__doc__, DEFAULT_URL)
    ap.add_argument("--applications", type=int, default=100_000)
    ap.add_argument("--answers", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--n-status", type=int, default=200, help="status calls, and as many find calls")
    ap.add_argument("--n-overdue", type=int, default=50)
    ap.add_argument("--n-funnel", type=int, default=10)
    ap.add_argument("--n-bias", type=int, default=10)
    common.add_explain_options(ap)
    args = ap.parse_args()

    dbname = common.check_url(args.database_url, "bench/hr.py")
    with common.bench_database(args.database_url) as engine:
        counts = common.table_counts(engine)
        reused = (
            args.reuse
            and counts.get("applications") == args.applications
            and counts.get("answers") == args.answers
        )
        generation: dict[str, Any] | None = None
        if reused:
            print(
                f"reusing the dataset in {dbname}: {counts['applications']:,} applications, {counts['answers']:,} answers"
            )
        else:
            print(
                f"generating {args.applications:,} applications and {args.answers:,} answers in {dbname} …",
                flush=True,
            )
            generation = generate(engine, args.database_url, args.applications, args.answers, args.seed)
            common.print_generation(generation)
            print("  stages: " + ", ".join(f"{k} {v:,}" for k, v in generation["stages"].items()))
            print(
                f"  completed interviews {generation['completed_interviews']:,}, "
                f"{generation['answers_per_completed_interview']} answers each on average"
            )
            counts = common.table_counts(engine)
        if TRIAL_INDEXES:  # a previous --keep-indexes run: measure the schema as migrated
            common.try_indexes(args.database_url, TRIAL_INDEXES, create=False)

        rng = random.Random(args.seed + 1)
        ops, info = build_ops(engine, args, rng)
        log = SqlLog(engine)

        def explain_op(op: Op, st: Stats) -> list[str]:
            return explain(engine, log, op, st)

        print(
            f"HR user {info['hr_user']} scope {info['scope']}: {info['applications_in_scope']:,} applications,"
            f" {info['overdue_in_scope']:,} overdue {info['overdue_why']} ({info['overdue_everywhere']:,} bank-wide);"
            f" funnel and bias of {info['position']} ({info['position_applications']:,} applications, all time)"
        )
        print("schema as migrated:")
        before = common.measure(ops)
        missed = common.explain_misses(ops, before, explain_op, args.explain)

        tried = common.trial(args, TRIAL_INDEXES, ops, before, explain_op)

        print(
            "outbox relay: .venv/bin/python bench/hr_sync.py --database-url "
            + make_url(args.database_url).render_as_string(hide_password=True)
        )
        return common.report(
            "hr",
            dbname,
            {
                "applications": counts.get("applications"),
                "answers": counts.get("answers"),
                "reused": bool(reused),
                "generation": generation,
                "setup": info,
                "results": common.results(before),
                "trial_indexes": tried,
            },
            missed,
        )


if __name__ == "__main__":
    sys.exit(main())
