"""After the offer, end to end through the engine (SQLite and PostgreSQL): HR marks a candidate hired,
the same chat becomes an employee's — onboarding form, checklist, mentor — then courses, promotion,
growth, training requests, leave and payslips; only the employee's own data, in their language."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bots.testing import TestBot
from storage import employees as store
from storage.documents import issue_link_code
from storage.models import Application, Employee, Enrolment, OnboardingItem, TrainingRequest, User
from tests.conftest import NOW
from tests.flows.hr_fixtures import candidate, hr_bot, rows


def _seed_staff(rt) -> None:  # type: ignore[no-untyped-def]
    with rt.sessions.begin() as s:
        store.seed_employees(s, rt.deps.employee_env.growth, now=NOW)


def _staff_bot(rt, ref: str, chat: str) -> TestBot:  # type: ignore[no-untyped-def]
    """A content employee (content/employees.yml) who linked their chat."""
    with rt.sessions.begin() as s:
        [emp] = [e for e in s.query(Employee).filter(Employee.external_ref == ref)]
        code, _ = issue_link_code(s, user_id=emp.user_id, now=NOW, ttl=timedelta(days=7))
    bot = TestBot(rt, user=chat)
    bot.say(code)
    return bot


def _hire(rt, *, lang: str = "zh") -> tuple[TestBot, TestBot, int]:  # type: ignore[no-untyped-def]
    _seed_staff(rt)
    app_id = candidate(
        rt,
        name="张三" if lang == "zh" else "Alex Chen",
        overall=70.0,
        chat="new-hire",
        stage="offer",
        lang=lang,
    )
    with rt.sessions.begin() as s:
        app = s.get(Application, app_id)
        app.profile = {
            "school": "上海财经大学",
            "major": "会计学",
            "degree": "本科",
            "experience": "实习一年",
        }
    hr, _ = hr_bot(rt, scope="零售银行部")
    hr.say(f"/hired {app_id}")
    cand = TestBot(rt, user="new-hire")
    return hr, cand, app_id


def test_hired_candidate_is_onboarded_in_the_same_chat(rt) -> None:  # type: ignore[no-untyped-def]
    hr, me, app_id = _hire(rt)
    assert "已入职" in hr.text and "导师" in hr.text
    got = me.settle()
    text = "\n".join(r.text for r in got)
    assert "欢迎加入" in text and "综合柜员" in text
    assert "导师" in text  # matched with a reason
    assert "（1/5）姓名：张三" in text
    me.press("正确")
    assert "毕业院校：上海财经大学" in me.text
    me.press("正确")
    assert "专业：会计学" in me.text
    me.press("修改")
    assert "正确的专业" in me.text
    me.say("金融学")
    assert "已更新专业：金融学" in me.text and "学历：本科" in me.text
    me.press("正确")
    me.press("正确")
    assert "入职信息已确认" in me.text and "入职清单" in me.text
    [emp] = rows(rt, Employee, application_id=app_id)
    assert emp.profile["major"] == "金融学" and emp.profile_confirmed_at is not None
    assert emp.department == "零售银行部" and emp.mentor_id is not None
    items = rows(rt, OnboardingItem, employee_id=emp.id)
    assert len(items) >= 8 and all(i.due_date >= emp.start_date for i in items)
    with rt.sessions() as s:
        assert s.get(User, emp.user_id).role == "employee"
    assert any("已确认入职信息表" in r.text for r in hr.settle())
    me.say("我的入职手续办到哪了")
    assert "入职清单（已完成 0/" in me.text
    me.press("✓ 已完成")
    assert "已记为完成" in me.text and "已完成 1/" in me.text
    hr.say(f"/status {app_id}")  # HR follows the onboarding
    assert "清单完成 1/" in hr.text and "信息表已确认" in hr.text


def test_mentor_is_introduced_and_capacity_is_respected(rt) -> None:  # type: ignore[no-untyped-def]
    _seed_staff(rt)
    mentor_chat = None
    with rt.sessions() as s:
        mentors = [
            e
            for e in s.query(Employee).filter(
                Employee.is_mentor.is_(True), Employee.department == "零售银行部"
            )
        ]
    full = [m for m in mentors if m.mentor_load >= m.mentor_capacity]
    assert full, "the demo content has a mentor at capacity"
    free = [m for m in mentors if m.mentor_load < m.mentor_capacity]
    mentor_chat = _staff_bot(rt, free[0].external_ref, "mentor-chat")
    app_id = candidate(rt, name="张三", overall=70.0, chat="new-hire", stage="offer")
    hr, _ = hr_bot(rt, scope="零售银行部")
    hr.say(f"/hired {app_id}")
    [emp] = rows(rt, Employee, application_id=app_id)
    assert emp.mentor_id not in {m.id for m in full}
    if emp.mentor_id == free[0].id:
        got = mentor_chat.settle()
        assert any("导师" in r.text and "张三" in r.text for r in got)
    me = TestBot(rt, user="new-hire")
    me.settle()
    me.say("我的导师是谁")
    assert "您的导师是" in me.text


def test_courses_from_the_weakest_indicators_enrol_progress_and_bad_input(rt) -> None:  # type: ignore[no-untyped-def]
    _, me, app_id = _hire(rt)
    me.settle()
    me.say("有什么课推荐给我")
    assert "为您推荐的课程" in me.text and "金融知识" in me.text  # the interview's weakest (55)
    first = me.choices[0]
    me.press(first)
    assert "已为您报名" in me.text
    me.press(first) if first in me.choices else me.say("有什么课推荐给我")
    [emp] = rows(rt, Employee, application_id=app_id)
    enrolled = [e for e in rows(rt, Enrolment, employee_id=emp.id) if e.status == "enrolled"]
    course = rt.deps.employee_env.growth.courses.get(enrolled[-1].course_id)
    me.say(f"我要报名《{course.title.zh}》")
    assert "已经报名" in me.text  # twice
    me.say(f"《{course.title.zh}》完成了第1章")
    assert "已记录" in me.text and f"第 1/{course.chapters} 章" in me.text
    me.say(f"《{course.title.zh}》进度120%")
    assert "0% 到 100%" in me.text
    me.say(f"《{course.title.zh}》第99章学完了")
    assert "没有第 99 章" in me.text
    me.say(f"《{course.title.zh}》学完了")
    assert "已完成并记录" in me.text
    me.say("我的课程进度")
    assert "已完成" in me.text and course.title.zh in me.text
    me.say("我要报名《量子物理入门》")
    assert "没有找到" in me.text


def test_promotion_requirements_eligible_positions_and_unknown_names(rt) -> None:  # type: ignore[no-untyped-def]
    _seed_staff(rt)
    li = _staff_bot(rt, "E001", "li-na")  # a teller since 2021
    assert "员工账号" in li.text
    li.say("晋升高级柜员需要什么条件")
    assert "晋升高级柜员的条件" in li.text and ("✓" in li.text or "✗" in li.text)
    li.say("我能申请哪些岗位")
    assert "高级柜员" in li.text
    li.say("晋升高级柜园需要什么条件")  # a typo
    assert "高级柜员" in li.text
    li.say("晋升宇航员需要什么条件")
    assert "没有找到“宇航员”" in li.text or "没有找到" in li.text
    li.say("我的成长")
    assert "我的成长" in li.text and li.last.files and li.last.files[0].mime == "image/png"


def test_an_employee_cannot_see_a_colleagues_data_and_a_candidate_gets_no_employee_answers(rt) -> None:  # type: ignore[no-untyped-def]
    _seed_staff(rt)
    li = _staff_bot(rt, "E001", "li-na")
    li.say("王芳的成长怎么样")
    assert "只能查看您本人" in li.text
    li.say("我同事的工资条")
    assert "只能查看您本人" in li.text
    candidate(rt, name="赵六", chat="cand-z")
    cand = TestBot(rt, user="cand-z")
    cand.say("这个月工资条")
    assert "员工服务" in cand.text


def test_training_request_goes_to_hr_and_the_answer_comes_back(rt) -> None:  # type: ignore[no-untyped-def]
    _seed_staff(rt)
    hr, _ = hr_bot(rt, scope="零售银行部")
    rm_hr, _ = hr_bot(rt, scope="RM")
    li = _staff_bot(rt, "E001", "li-na")
    li.say("我想申请参加外部的CFA培训，费用8000元")
    assert "已提交培训申请" in li.text
    got = hr.settle()
    assert got and "培训申请" in got[-1].text and "CFA" in got[-1].text
    assert not rm_hr.settle()  # another department's HR is not asked
    hr.press("批准")
    assert "已批准" in hr.text
    [req] = rows(rt, TrainingRequest)
    assert req.status == "approved"
    answer = li.settle()
    assert answer and "已获批准" in answer[-1].text
    hr.send("批准", payload=f"train_ok:{req.id}")  # pressed again, e.g. on another device
    assert "已经处理过" in hr.text


def test_leave_and_payslip_without_and_with_the_hr_system(rt) -> None:  # type: ignore[no-untyped-def]
    from actions.hr_api import HrApi, HrApiSettings
    from tests.actions.hr_api_fake import FakeHrApi

    _seed_staff(rt)
    li = _staff_bot(rt, "E001", "li-na")
    li.say("我还有几天年假")
    assert "查不到" in li.text
    fake = FakeHrApi("hr-token").start()
    fake.leave["E001"] = {
        "annual_days": 7.5,
        "annual_total": 15,
        "sick_days": 5,
        "other": {},
        "as_of": "2026-11-20",
    }
    fake.payslips[("E001", "2026-10")] = {
        "gross": "18000.00",
        "net": "14210.35",
        "deductions": {"social_insurance": "1890.00", "housing_fund": "1260.00", "income_tax": "639.65"},
        "currency": "CNY",
        "pay_date": "2026-10-10",
        "download_url": None,
    }
    try:
        api = HrApi(HrApiSettings(url=fake.url, token="hr-token", timeout=2.0))
        rt.deps = dataclasses.replace(
            rt.deps, employee_env=dataclasses.replace(rt.deps.employee_env, hr_api=api)
        )
        li.rt = rt
        li.say("我还有几天年假")
        assert "7.5" in li.text and "查不到" not in li.text
        li.say("十月的工资条")
        assert "14,210.35" in li.text
        li.say("2025年1月的工资条")
        assert "没有找到" in li.text
        fake.fail(times=5, status=500)
        li.say("我还有几天年假")
        assert "暂时无法访问" in li.text
    finally:
        fake.stop()


def test_deadline_reminders_once(rt, clock) -> None:  # type: ignore[no-untyped-def]
    _, me, app_id = _hire(rt)
    me.settle()
    clock.advance(days=40)
    n = rt.reminders.remind_deadlines()
    assert n >= 1
    got = me.settle()
    assert got and any("提醒" in r.text or "截止" in r.text for r in got)
    assert rt.reminders.remind_deadlines() == 0


def test_the_hr_system_records_a_hire_through_the_api(rt) -> None:  # type: ignore[no-untyped-def]
    from starlette.testclient import TestClient

    from bots.app import create_app
    from storage import accounts

    _seed_staff(rt)
    app_id = candidate(rt, name="张三", overall=70.0, chat="new-hire", stage="offer")
    rejected = candidate(rt, name="李四", overall=50.0, stage="rejected")
    with rt.sessions.begin() as s:
        user = accounts.create_hr_user(s, name="HR system", scope=["*"], now=NOW)
        writer = accounts.issue_token(s, user=user, name="hr-system", scopes=["hires:write"], now=NOW)
        reader = accounts.issue_token(s, user=user, name="reader", scopes=["profiles:read"], now=NOW)
    client = TestClient(create_app(rt))
    url = f"/api/v1/applications/{app_id}/hire"
    r = client.post(
        url,
        json={"start_date": "2026-12-07", "employee_ref": "E900"},
        headers={"Authorization": f"Bearer {reader}"},
    )
    assert r.status_code == 403
    r = client.post(
        url,
        json={"start_date": "2026-12-07", "employee_ref": "E900"},
        headers={"Authorization": f"Bearer {writer}"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ok" and r.json()["employee"]["start_date"] == "2026-12-07"
    [emp] = rows(rt, Employee, application_id=app_id)
    assert emp.external_ref == "E900" and emp.start_date.isoformat() == "2026-12-07"
    got = TestBot(rt, user="new-hire").settle()
    assert any("欢迎加入" in x.text for x in got)
    again = client.post(url, headers={"Authorization": f"Bearer {writer}"})
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    assert len(rows(rt, Employee, application_id=app_id)) == 1
    r = client.post(f"/api/v1/applications/{rejected}/hire", headers={"Authorization": f"Bearer {writer}"})
    assert r.status_code == 409
    r = client.post(url, content=b"{not json", headers={"Authorization": f"Bearer {writer}"})
    assert r.status_code == 400


def test_an_english_speaking_employee_without_an_interview(rt) -> None:  # type: ignore[no-untyped-def]
    _seed_staff(rt)
    liu = _staff_bot(rt, "E005", "liu-yang")  # a relationship manager, no interview on file
    assert "employee account" in liu.text
    liu.say("recommend me a course")
    assert "annual review" in liu.text and liu.choices  # from the latest review, not an interview
    liu.say("what do I need to be promoted to senior relationship manager?")
    assert "To be promoted to" in liu.text
    liu.say("what do I need to be promoted to astronaut?")
    assert "no position called" in liu.text
    liu.say("I want to improve my risk awareness")
    assert "risk awareness" in liu.text
    liu.say("my payslip for October")
    assert "can't look up payslips" in liu.text
