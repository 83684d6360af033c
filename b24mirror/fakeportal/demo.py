"""The built-in demo portal: one real-looking project group and an unrelated second one.

build_demo_portal(seed) -> (portal, info); info = {"user_id", "secret", "group_id", "master_task_id",
"second_group_id", "webhook_path"}. The same seed builds the same portal (ids, texts, structure)."""
from __future__ import annotations

import random
import time
from typing import Any

from b24mirror.fakeportal.portal import FakePortal

RU_PEOPLE = [("Ирина", "Соколова"), ("Алексей", "Смирнов"), ("Мария", "Кузнецова"), ("Дмитрий", "Попов"),
             ("Ольга", "Васильева"), ("Сергей", "Петров"), ("Анна", "Новикова"), ("Павел", "Фёдоров"),
             ("Елена", "Морозова"), ("Никита", "Волков"), ("Татьяна", "Алексеева"), ("Андрей", "Лебедев"),
             ("Наталья", "Семенова"), ("Игорь", "Егоров"), ("Юлия", "Павлова"), ("Максим", "Козлов"),
             ("Светлана", "Степанова"), ("Роман", "Николаев"), ("Ксения", "Орлова"), ("Артём", "Андреев"),
             ("Виктория", "Макарова"), ("Кирилл", "Захаров")]
EN_PEOPLE = [("John", "Smith"), ("Emily", "Clark"), ("Klaus", "Weber"), ("Sophie", "Martin"), ("Lucas", "Bernard"),
             ("Hannah", "Fischer"), ("Oliver", "Brown"), ("Mia", "Schulz"), ("Noah", "Wilson"), ("Lea", "Dubois"),
             ("Jack", "Taylor"), ("Anna", "Weber"), ("Tom", "Evans"), ("Clara", "Hoffmann"), ("Ben", "Walker"),
             ("Laura", "Rossi"), ("Max", "Keller"), ("Eva", "Novak")]
POSITIONS = ["Project manager", "Developer", "Designer", "QA engineer", "Analyst", "Accountant", "Lawyer", "Contractor"]
SUBTASKS_RU = ["Согласовать ТЗ с заказчиком", "Подготовить смету", "Макеты главной страницы", "Настроить CI",
               "Миграция базы данных", "Юридическая проверка договора", "Тестирование оплаты", "Перевод интерфейса",
               "Закупка серверов", "Обучение сотрудников", "Аудит безопасности", "Документация API",
               "Интеграция с 1С", "Нагрузочное тестирование", "Подготовка релиза"]
SUBTASKS_EN = ["Agree on scope with the client", "Landing page copy", "Payment provider onboarding",
               "Mobile layout fixes", "Set up monitoring", "Data export for finance", "Accessibility review",
               "Partner API keys", "Release notes", "Customer interviews", "Backup policy", "Invoice template",
               "Translate help center", "Vendor contract renewal", "Performance budget"]
COMMENTS_RU = ["Коллеги, посмотрите, пожалуйста, черновик.", "Готово, загрузил в папку проекта.",
               "[B]Важно:[/B] срок переносится на пятницу.", "Согласовано с бухгалтерией.",
               "Есть вопрос по пункту 3, созвонимся?", "Исправил замечания, проверьте ещё раз.",
               "[QUOTE]Когда будет готово?[/QUOTE] Думаю, к среде.", "Спасибо, принято в работу."]
COMMENTS_EN = ["Please review the draft when you have a minute.", "Done, uploaded to the project folder.",
               "[B]Heads up:[/B] the client moved the deadline.", "Approved by finance.",
               "Quick question on item 3 — call tomorrow?", "Fixed the review notes, please check again.",
               "Blocked by the vendor, waiting for their reply.", "Thanks, picking this up now."]


def build_demo_portal(seed: int = 0, **portal_kwargs: Any) -> tuple[FakePortal, dict]:
    rng = random.Random(seed)
    days = 21
    portal_kwargs.setdefault("start", float(int(time.time())) - days * 86400)
    p = FakePortal(seed=seed, **portal_kwargs)

    def tick(lo: float = 600, hi: float = 7200) -> None:
        p.advance(rng.uniform(lo, hi))

    people = []
    admin = p.add_user("Ирина", "Соколова", admin=True, work_position="Head of projects", gender="F")
    people.append(admin)
    for name, last in RU_PEOPLE[1:] + EN_PEOPLE[:14]:
        people.append(p.add_user(name, last, work_position=rng.choice(POSITIONS)))
    extranet = [p.add_user(n, l, extranet=True, work_position="Contractor") for n, l in EN_PEOPLE[14:]]
    gone = p.add_user("Павел", "Уволенный", work_position="Developer")  # leaves the company later
    secret = p.add_webhook(admin, scopes=("task", "tasks", "sonet_group", "user", "im", "basic"),
                           secret=f"demo{seed:04d}" + "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789")
                                                              for _ in range(12)))
    manager = people[1]
    members = people[:30] + extranet + [gone]
    gid = p.add_group("Запуск портала / Portal launch", owner_id=manager, members=members,
                      description="Внедрение нового клиентского портала")
    p.add_member(gid, admin, "E")
    others = people[30:] + [people[2], people[5]]
    gid2 = p.add_group("Отдел кадров (HR)", owner_id=people[30], members=others)

    master = p.add_task("Запуск клиентского портала — master", created_by=manager, responsible_id=admin,
                        group_id=gid, auditors=[people[2]], description="Общая задача проекта. [B]Master task[/B]",
                        deadline=p.now_ts() + 40 * 86400)
    for title in ("Kick-off meeting", "Согласовать бюджет", "Подписать договор", "Go-live checklist"):
        p.add_checklist_item(master, title, by=manager)
    first = next(iter(i for i in p.checklist.values() if i.task_id == master and i.parent_id))
    p.toggle_checklist_item(first.id, True, manager)
    tick()

    titles = [t for pair in zip(SUBTASKS_RU, SUBTASKS_EN) for t in pair]
    level1: list[int] = []
    subtasks: list[int] = []
    for i in range(14):
        resp = rng.choice(people[:30] + extranet)
        tid = p.add_task(titles[i], created_by=manager, responsible_id=resp, group_id=gid, parent_id=master,
                         new_card=i % 3 == 1, auditors=rng.sample(members, rng.randint(0, 2)),
                         deadline=p.now_ts() + rng.randint(3, 30) * 86400)
        level1.append(tid)
        subtasks.append(tid)
        tick()
    level2: list[int] = []
    for i in range(13):
        parent = rng.choice(level1)
        tid = p.add_task(titles[14 + i], created_by=rng.choice(people[:30]), responsible_id=rng.choice(members[:-1]),
                         group_id=gid, parent_id=parent, new_card=i % 2 == 0,
                         accomplices=rng.sample(people[:30], rng.randint(0, 1)))
        level2.append(tid)
        subtasks.append(tid)
        tick()
    for i in range(3):
        tid = p.add_task(f"{titles[27 + i]} (детали / details)", created_by=manager, responsible_id=rng.choice(members),
                         group_id=gid, parent_id=level2[i], new_card=i == 1)
        subtasks.append(tid)
        tick()

    # A few weeks of work: comments in both languages, status and deadline moves, system comments.
    for _ in range(90):
        tid = rng.choice(subtasks + [master])
        task = p.tasks[tid]
        author = rng.choice(sorted(task.participants()))
        text = rng.choice(COMMENTS_RU if rng.random() < 0.55 else COMMENTS_EN)
        roll = rng.random()
        if roll < 0.72:
            attachments = [{"name": "smeta.xlsx", "size": 14675}] if rng.random() < 0.08 else None
            p.add_comment(tid, author, text, attachments=attachments)
        elif roll < 0.84:
            p.set_status(tid, rng.choice([3, 4, 5]), by=task.responsible_id)
        elif roll < 0.92:
            p.set_deadline(tid, p.now_ts() + rng.randint(2, 20) * 86400, by=task.created_by)
        else:
            p.add_system_comment(tid, "Задача просрочена. / The task is overdue.", by=task.responsible_id)
        tick(1800, 4 * 3600)
    # Some edits and deletions, as people do.
    for tid in rng.sample(subtasks, 4):
        rows = [c for c in p.comments(tid) if not c["system"] and not c["deleted"]]
        if rows:
            p.edit_comment(tid, rows[-1]["id"], rows[-1]["text"] + " (upd)")
    for tid in rng.sample(subtasks, 2):
        rows = [c for c in p.comments(tid) if not c["system"] and not c["deleted"]]
        if rows:
            p.delete_comment(tid, rows[0]["id"])
    p.set_user_active(gone, False)

    # The unrelated group has tasks of its own.
    hr_master = p.add_task("Набор стажёров", created_by=people[30], group_id=gid2)
    for title in ("Вакансия на hh.ru", "Собеседования"):
        tid = p.add_task(title, created_by=people[30], responsible_id=people[31], group_id=gid2, parent_id=hr_master)
        p.add_comment(tid, people[31], "Начинаем на следующей неделе.")
    # Catch the clock up with the present, so new activity during a run comes after the seeded history.
    p.advance(max(0.0, time.time() - p.now_ts()) if portal_kwargs.get("clock") is None else 0.0)
    # A second webhook, a person's: what the robot's own webhook posts is never mirrored, this one's is.
    person_secret = p.add_webhook(manager, secret=f"person{seed:04d}" + "".join(
        rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(12)))
    info = {"user_id": admin, "secret": secret, "group_id": gid, "master_task_id": master, "second_group_id": gid2,
            "webhook_path": f"/rest/{admin}/{secret}/",
            "people_webhooks": [{"user_id": manager, "secret": person_secret}]}
    return p, info


def add_customer_room(p: FakePortal, info: dict) -> int:
    """An extranet group where the customer's curator reads one task: the second audience of the demo.
    Returns that task's id (the robot observes it, so it may post there)."""
    curator = min(uid for uid, user in p.users.items() if user.extranet and user.active)
    robot = info["user_id"]
    room = p.add_group("Portal launch — customer room", owner_id=robot, members=[robot, curator],
                       description="Extranet: what the customer's curator follows")
    return p.add_task("Portal launch — for the customer", created_by=robot, responsible_id=curator, group_id=room,
                      auditors=[robot])
