"""Browser tests: headless Chromium (Debian's, driven by Playwright) against the app served on
loopback. Each saves screenshots under test-artifacts/ at desktop and phone width."""

import shutil

import pytest

from tests.conftest import ADMIN, ROOT

ARTIFACTS = ROOT / "test-artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def open_page(browser, web_url):
    pages = []

    def make(viewport=DESKTOP):
        page = browser.new_page(viewport=viewport)
        page.requests = []  # every URL the page asks for
        page.dialogs = []  # any alert() a document managed to run
        page.on("request", lambda r: page.requests.append(r.url))
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.goto(web_url + "/", wait_until="load")
        page.wait_for_selector("#question textarea", timeout=60_000)
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.close()


def _ask(page, question):
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_selector("#chatbot details", timeout=90_000)


def test_a_resident_asks_and_sees_the_answer_and_its_sources(open_page, web_url):
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_page(viewport)
        _ask(page, "异地就医怎么结算")
        chat = page.locator("#chatbot")
        assert "[1]" in chat.inner_text() and "来源" in chat.inner_text()
        page.locator("#chatbot summary").first.click()
        assert "依据原文" in chat.inner_text()
        link = page.locator("#chatbot details a").first.get_attribute("href")
        assert link.startswith("/documents/")
        page.screenshot(path=str(ARTIFACTS / f"chat-{name}.png"), full_page=True)
        if name == "phone":
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"] + 1, f"page is {width}px wide on a {PHONE['width']}px phone"
        assert {u.split("/")[2] for u in page.requests} == {web_url.split("/")[2]}


def test_hotline_staff_filter_a_lookup_and_get_a_ticket_note(open_page):
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_page(viewport)
        page.get_by_role("tab", name="热线查询").click()
        page.fill("#lookup-query textarea", "失业保险金 领取期限")
        page.fill("#lookup-region textarea", "广州")
        page.locator("#lookup-go").click()
        page.wait_for_selector("#lookup-results mark", timeout=60_000)
        results = page.locator("#lookup-results").inner_text()
        assert "失业保险" in results
        page.locator("#ticket-go").click()
        page.wait_for_function(
            "() => document.querySelector('#ticket-note textarea').value.includes('政策依据与条款')", timeout=90_000
        )
        note = page.locator("#ticket-note textarea").input_value()
        for part in ("问题：", "答复要点：", "政策依据与条款：", "办理渠道：", "有效期："):
            assert part in note
        page.screenshot(path=str(ARTIFACTS / f"lookup-{name}.png"), full_page=True)
    # Filtered to another region, Guangzhou's documents drop out and national rules remain.
    assert "广州" in results
    page.fill("#lookup-region textarea", "西藏")
    page.locator("#lookup-go").click()
    page.wait_for_function("() => !document.querySelector('#lookup-results').innerText.includes('广州')", timeout=30_000)
    assert "失业保险条例" in page.locator("#lookup-results").inner_text()


def test_an_admin_logs_in_and_uploads_a_file(open_page, tmp_path):
    page = open_page()
    page.get_by_role("tab", name="知识库管理").click()
    page.fill("#admin-user textarea, #admin-user input", ADMIN[0])
    page.fill("#admin-password input", "wrong")
    page.locator("#admin-login").click()
    page.wait_for_selector("text=用户名或密码不对", timeout=30_000)
    page.fill("#admin-password input", ADMIN[1])
    page.locator("#admin-login").click()
    page.wait_for_selector("#admin-docs", timeout=30_000)
    upload = tmp_path / "浏览器上传测试.md"
    upload.write_text("---\ntitle: 浏览器上传测试办法\n---\n第一条 本办法用于测试上传。\n", encoding="utf-8")
    page.set_input_files("#admin-upload input[type=file]", str(upload))
    page.wait_for_selector("#admin-upload-result >> text=added", timeout=120_000)
    page.wait_for_selector("#admin-docs >> text=浏览器上传测试办法", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "admin-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(ARTIFACTS / "admin-phone.png"), full_page=True)


def test_a_script_in_a_document_never_runs(open_page):
    page = open_page()
    _ask(page, "补贴标准每平方米多少元？点击这里申请")
    page.locator("#chatbot summary").first.click()
    injected = page.evaluate(
        "() => [...document.querySelectorAll('#chatbot script, #chatbot img[onerror], #chatbot [onclick]')].length"
    )
    assert injected == 0 and page.dialogs == []
    page.screenshot(path=str(ARTIFACTS / "xss-desktop.png"), full_page=True)


def test_thumbs_down_with_a_comment_is_stored_and_new_conversation_clears(open_page, web_services):
    page = open_page()
    _ask(page, "广州低保标准是多少")
    page.fill("#comment textarea", "想知道边缘家庭的标准")
    page.locator("#chatbot button[aria-label*='islike'], #chatbot button[title*='islike']").first.click()
    page.wait_for_selector("text=谢谢您的反馈", timeout=30_000)
    latest = web_services.feedback.recent(1)[0]
    assert latest["rating"] == -1 and latest["comment"] == "想知道边缘家庭的标准"
    assert latest["question"] == "广州低保标准是多少" and "1309" in latest["answer"]
    page.locator("#new-conversation").click()
    page.wait_for_function("() => !document.querySelector('#chatbot').innerText.includes('1309')", timeout=30_000)


#: Switches the app must set itself: the server below starts without any of them.
_SWITCH_PREFIXES = ("HF_", "TRANSFORMERS_", "GRADIO_", "ANONYMIZED_TELEMETRY", "TOKENIZERS_", "MINSHENG_", "CHROMA_", "ORT_")


def test_the_server_needs_no_switches_and_nothing_leaves_the_machine(browser, tmp_path):
    """`minsheng serve --ingest knowledge/` as a user starts it, in its own process, with no
    offline or telemetry variables set and every non-loopback connection refused and
    recorded. All three tabs are used in a browser that records every request it makes."""
    import os
    import subprocess
    import sys

    from tests.conftest import KNOWLEDGE
    from tests.processes import free_port, wait_until_up

    port = free_port()
    attempts = tmp_path / "attempts.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SWITCH_PREFIXES)}
    env.update(MINSHENG_ADMIN_USER=ADMIN[0], MINSHENG_ADMIN_PASSWORD=ADMIN[1])
    log = open(tmp_path / "server.log", "w", encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.netguard", str(attempts), "serve", "--ingest", str(KNOWLEDGE),
         "--port", str(port), "--data-dir", str(tmp_path / "data")],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(server, url + "/api/health", tmp_path / "server.log", 300)
        page = browser.new_page(viewport=DESKTOP)
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(url + "/", wait_until="load")
        page.wait_for_selector("#question textarea", timeout=60_000)
        _ask(page, "异地就医怎么结算")
        page.get_by_role("tab", name="热线查询").click()
        page.fill("#lookup-query textarea", "低保标准")
        page.locator("#lookup-go").click()
        page.wait_for_selector("#lookup-results mark", timeout=60_000)
        page.get_by_role("tab", name="知识库管理").click()
        page.fill("#admin-user textarea, #admin-user input", ADMIN[0])
        page.fill("#admin-password input", ADMIN[1])
        page.locator("#admin-login").click()
        page.wait_for_selector("#admin-docs", timeout=30_000)
        # The API docs page renders from files the server itself serves.
        page.goto(url + "/api/docs", wait_until="load")
        page.wait_for_function("() => document.body.innerText.includes('/v1/chat/completions')", timeout=30_000)
        page.close()
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    origins = {u.split("/")[2] for u in requests if u.startswith("http")}
    assert origins == {f"127.0.0.1:{port}"}, sorted(u for u in requests if f"127.0.0.1:{port}" not in u)
    assert len(requests) > 10
    output = (tmp_path / "server.log").read_text("utf-8")
    assert "9 added" in output and "Traceback" not in output, output
    assert not attempts.exists(), attempts.read_text("utf-8")


def _admin_login(page):
    page.get_by_role("tab", name="知识库管理").click()
    page.fill("#admin-user textarea, #admin-user input", ADMIN[0])
    page.fill("#admin-password input", ADMIN[1])
    page.locator("#admin-login").click()
    page.wait_for_selector("#admin-docs", timeout=30_000)


def test_a_question_is_sent_with_the_send_button_on_a_phone(open_page):
    page = open_page(PHONE)
    page.fill("#question textarea", "失业了能领多长时间失业保险金")
    page.locator("#question button", has_text="发送").click()
    page.wait_for_selector("#chatbot details", timeout=90_000)
    # Sources stay one line each until opened; the examples stay under the box.
    assert page.locator("#chatbot details[open]").count() == 0
    assert page.locator("#chatbot details").count() >= 1
    assert page.locator("#examples-below").is_visible()
    assert "广州低保标准是多少" in page.locator("#examples-below").inner_text()
    page.screenshot(path=str(ARTIFACTS / "send-button-phone.png"), full_page=True)


def test_an_admin_deletes_a_document_chosen_from_the_table_after_confirming(open_page, web_services):
    text = "---\ntitle: 待删除的测试通知\n---\n第一条 本通知用于测试删除。\n\n第二条 本通知自发布之日起施行。\n"
    web_services.documents.upload("待删除的测试通知.md", text.encode("utf-8"))
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = open_page(viewport)
        _admin_login(page)
        page.fill("#admin-find textarea", "待删除的测试通知")
        cell = page.locator("#admin-docs [role=gridcell]", has_text="待删除的测试通知").first
        cell.wait_for(timeout=30_000)
        if name == "phone":  # on a phone the admin looks, then cancels
            cell.click()
            page.locator("#admin-delete").click()
            page.wait_for_selector("#admin-confirm", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "admin-delete-confirm-phone.png"), full_page=True)
            page.locator("#admin-cancel").click()
            page.wait_for_selector("#admin-action-result >> text=已取消", timeout=30_000)
            continue
        cell.click()
        page.wait_for_selector("#admin-chosen >> text=待删除的测试通知", timeout=30_000)
        page.locator("#admin-delete").click()
        page.wait_for_selector("#admin-confirm", timeout=30_000)
        confirm = page.locator("#admin-confirm-text").inner_text()
        assert "《待删除的测试通知》" in confirm and "个分块" in confirm
        page.screenshot(path=str(ARTIFACTS / "admin-delete-confirm-desktop.png"), full_page=True)
        page.locator("#admin-confirm").click()
        page.wait_for_selector("#admin-action-result >> text=已删除", timeout=60_000)
        page.wait_for_function("() => !document.querySelector('#admin-docs').innerText.includes('待删除的测试通知')", timeout=30_000)
    assert not [d for d in web_services.documents.list() if d.title == "待删除的测试通知"]


def test_an_admin_writes_a_script_from_a_gap_and_residents_then_get_it_first(open_page, web_services):
    gap_question = "广州的孤儿养育标准是每月多少"
    page = open_page()
    _ask(page, gap_question)
    page.locator("#chatbot button[aria-label*='islike'], #chatbot button[title*='islike']").first.click()
    page.wait_for_selector("text=谢谢您的反馈", timeout=30_000)
    admin = open_page(PHONE)  # the desktop admin is the delete test's; this one works on a phone
    _admin_login(admin)
    admin.get_by_text("知识缺口（拒答和差评的问题）").click()
    admin.locator("#gaps-show").click()
    row = admin.locator("#gaps-table [role=gridcell]", has_text=gap_question).first
    row.wait_for(timeout=60_000)
    row.click()
    admin.locator("#gap-to-script").click()
    admin.wait_for_function(
        f"() => (document.querySelector('#script-questions textarea')?.value || '').includes('{gap_question}')", timeout=30_000)
    admin.fill("#script-answer textarea", "广州市孤儿养育标准为每人每月2976元（2025年起执行）。")
    admin.fill("#script-doc-find textarea", "广州市2025年最低生活保障")
    admin.wait_for_function("() => (document.querySelector('#script-doc input')?.value || '').includes('最低生活保障')", timeout=30_000)
    admin.locator("#script-add-basis").click()
    admin.wait_for_selector("#script-basis >> text=广州市2025年最低生活保障", timeout=30_000)
    admin.fill("#script-region textarea", "广州")
    admin.fill("#script-approver textarea", "市民政局 李主任")
    admin.locator("#script-save").click()
    admin.wait_for_selector("#script-save-result >> text=已保存答复口径", timeout=60_000)
    admin.wait_for_function("() => document.querySelector('#scripts-table').innerText.includes('可用')", timeout=30_000)
    admin.screenshot(path=str(ARTIFACTS / "admin-script-from-gap-phone.png"), full_page=True)
    width = admin.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"the admin tab is {width}px wide on a {PHONE['width']}px phone"
    try:
        for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            resident = open_page(viewport)
            _ask(resident, "广州孤儿养育标准每个月多少钱？")
            chat = resident.locator("#chatbot").inner_text()
            assert 0 <= chat.find("热线答复口径") < chat.find("2976元") and "李主任" in chat and "2976元" in chat and "[1]" in chat, chat
            resident.locator("#chatbot summary").first.click()
            assert "依据原文" in resident.locator("#chatbot").inner_text()
            resident.screenshot(path=str(ARTIFACTS / f"script-answer-{name}.png"), full_page=True)
    finally:
        for script in web_services.scripts.list():
            web_services.scripts.delete(script.id)


def test_an_expired_script_is_not_used_and_shows_for_review(open_page, web_services):
    from datetime import date, timedelta

    dibao = web_services.store.first_metadata({"file_name": "guangzhou_dibao_biaozhun_2025.md"})["doc_id"]
    script = web_services.scripts.save({
        "questions": ["广州的孤儿养育标准是每月多少"], "answer": "过期的口径：每人每月100元。", "region": "广州",
        "basis": [{"doc_id": dibao}], "approver": "已离职的审核人",
        "approved_on": "2024-01-01", "valid_until": (date.today() - timedelta(days=1)).isoformat(),
    })
    try:
        for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page = open_page(viewport)
            _ask(page, "广州孤儿养育标准每个月多少钱？")
            chat = page.locator("#chatbot").inner_text()
            assert "热线答复口径" not in chat and "过期的口径" not in chat and "2976" in chat, chat
            _admin_login(page)
            page.get_by_text("热线答复口径", exact=True).click()
            page.wait_for_function(
                "() => (document.querySelector('#scripts-table')?.innerText || '').includes('待复核：已过有效期')", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / f"admin-expired-script-{name}.png"), full_page=True)
    finally:
        web_services.scripts.delete(script.id)


def test_staff_open_the_comparison_of_two_versions_from_a_lookup_result(open_page):
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_page(viewport)
        page.get_by_role("tab", name="热线查询").click()
        page.fill("#lookup-query textarea", "上海市社会救助条例 低保边缘家庭")
        page.locator("#lookup-go").click()
        link = page.locator("#lookup-results a.changes").first
        link.wait_for(timeout=60_000)
        with page.context.expect_page() as opened:
            link.click()
        view = opened.value
        view.wait_for_load_state()
        text = view.locator("body").inner_text()
        assert "新旧对照：《上海市社会救助条例》" in text and "修改 14 条" in text and "[修改] 第九条" in text
        assert view.locator("ins").count() > 0 and view.locator("del").count() > 0
        view.screenshot(path=str(ARTIFACTS / f"changes-{name}.png"), full_page=True)
        if name == "phone":
            assert view.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        view.close()
