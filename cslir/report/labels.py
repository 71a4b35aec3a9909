"""The report's own words in English and Simplified Chinese: one table, not two templates.

Templates look labels up by key (``t.clocks``); the report model uses the ``ev.*`` sentences to
describe events in the timeline. A key missing from a language is a test failure, never a blank.
"""

from __future__ import annotations

from collections.abc import Mapping

LANGS = ("en", "zh")

_TABLE: dict[str, tuple[str, str]] = {
    # -- headings --------------------------------------------------------------------------
    "title": ("Incident record", "事件处置记录"),
    "colon": (": ", "："),
    "drill_banner": (
        "DRILL — this is a rehearsal, not a real incident",
        "演练——本记录为演练，并非真实事件",
    ),
    "overview": ("Overview", "概况"),
    "summary": ("Summary", "摘要"),
    "inputs": ("Facts recorded", "已记录的事实"),
    "clocks": ("Legal clocks", "法定时限"),
    "chart": ("Steps against the deadlines", "步骤与时限"),
    "timeline": ("Timeline", "时间线"),
    "steps": ("Steps", "步骤"),
    "decisions": ("Decisions", "决定"),
    "approvals": ("Approvals", "审批"),
    "notes": ("Notes", "备注"),
    "notifications": ("Notifications", "通知"),
    "commands": ("Command outputs", "命令输出"),
    "evidence": ("Evidence index", "证据索引"),
    "leniency": ("Mitigation file (leniency)", "从轻处罚材料"),
    "flags": ("Needs attention", "需要注意"),
    "dealings": ("Dealings with the authorities", "与主管部门的往来"),
    "improvements": ("Improvement plan", "改进计划"),
    "chain": ("Integrity", "完整性校验"),
    # -- a drill's after-action report (HSEEP AAR/IP) -------------------------------------
    "aar": ("After-action report (HSEEP)", "演练总结报告（HSEEP）"),
    "exercise": ("Exercise overview", "演练概况"),
    "drill_name": ("Drill", "演练"),
    "drill_file": ("Drill file", "演练文件"),
    "participants": ("Participants called", "已召集的参与方"),
    "scenario_time": ("Scenario time", "情景时间"),
    "wall_time": ("Wall-clock time", "实际用时"),
    "speed": ("Scenario speed", "情景时间倍速"),
    "advanced": ("Scenario time advanced", "情景时间推进"),
    "objectives": ("Objectives and core capabilities", "目标与核心能力"),
    "objective": ("Objective", "目标"),
    "core_capability": ("Core capability", "核心能力"),
    "target": ("Target", "要求"),
    "measured": ("Measured (scenario time)", "实测（情景时间）"),
    "rating": ("Rating", "评级"),
    "record_says": ("Evidence from the record", "记录依据"),
    "provisional_was": ("provisional rating {r}", "暂定评级 {r}"),
    "rated_by": ("rated by {who}: {why}", "{who} 评定：{why}"),
    "injects": ("Injects (scenario events)", "情景注入"),
    "when_fired": ("Fired (wall clock)", "注入时间（实际）"),
    "not_reached": ("not reached", "未触发"),
    "strengths": ("Strengths", "优势"),
    "to_improve": ("Areas for improvement", "待改进之处"),
    "comparison": ("Compared with this drill's runs", "与本演练历次运行比较"),
    "this_run": ("this run", "本次"),
    "steps_scenario": (
        "Steps finished, scenario beside wall clock",
        "步骤完成：情景时间与实际时间",
    ),
    "r.P": ("P — performed without challenges", "P——顺利完成"),
    "r.S": ("S — performed with some challenges", "S——完成，但遇到一些困难"),
    "r.M": ("M — performed with major challenges", "M——完成，但遇到重大困难"),
    "r.U": ("U — unable to be performed", "U——未能完成"),
    # -- field names -----------------------------------------------------------------------
    "run": ("Run", "运行编号"),
    "playbook": ("Playbook", "预案"),
    "version": ("Version", "版本"),
    "sha256": ("SHA-256", "SHA-256"),
    "mode": ("Mode", "模式"),
    "responders": ("Responders", "处置人员"),
    "started": ("Started", "开始"),
    "closed": ("Closed", "结束"),
    "duration": ("Duration", "历时"),
    "timezone": ("Time zone", "时区"),
    "as_of": ("Report as of", "报告截至"),
    "still_open": ("still open", "尚未结束"),
    "so_far": ("so far", "至今"),
    "basis": ("Legal basis", "法律依据"),
    "confidence": ("Confidence", "可信度"),
    "recipient": ("Recipient", "报告对象"),
    "due": ("Due", "截止"),
    "stopped": ("Stopped", "完成"),
    "state": ("State", "状态"),
    "margin": ("Margin", "余量"),
    "provisional": ("provisional", "暂定"),
    "if_applies": ("if it applies", "如适用"),
    "time": ("Time", "时间"),
    "utc": ("UTC", "UTC"),
    "actor": ("Actor", "操作人"),
    "event": ("Event", "事件"),
    "what": ("What", "内容"),
    "step": ("Step", "步骤"),
    "owner": ("Owner", "负责人"),
    "start": ("Start", "开始"),
    "end": ("End", "结束"),
    "estimate": ("Estimate", "预计"),
    "outcome": ("Outcome", "结果"),
    "reason": ("Reason", "理由"),
    "rationale": ("Rationale", "理由"),
    "value": ("Value", "取值"),
    "role": ("Role", "角色"),
    "requested": ("Requested", "申请"),
    "granted": ("Granted", "批准"),
    "route": ("Route", "通知路由"),
    "message": ("Message", "消息"),
    "delivery": ("Delivery", "送达"),
    "name": ("Name", "名称"),
    "size": ("Size", "大小"),
    "added": ("Added", "添加"),
    "by": ("by", "由"),
    "text": ("Text", "内容"),
    "due_date": ("Due date", "期限"),
    "id": ("ID", "编号"),
    "direction": ("Direction", "方向"),
    "kind": ("Kind", "类型"),
    "authority": ("Authority", "主管部门"),
    "ref": ("Reference", "文号/回执"),
    "d.in": ("received", "收到"),
    "d.out": ("sent", "发出"),
    "d.notice": ("notice", "通知"),
    "d.request": ("request", "要求"),
    "d.interview": ("interview (约谈)", "约谈"),
    "d.inspection": ("inspection", "检查"),
    "d.deadline": ("deadline", "期限"),
    "d.answer": ("answer", "答复"),
    "d.submission": ("submission", "提交材料"),
    "d.report": ("report", "报告"),
    "below_min": (
        "below {minimum}, the least the thresholds proposed",
        "低于分级阈值建议的最低级别 {minimum}",
    ),
    "flag_below": (
        "{title}: {value} was chosen below {minimum}, the least the grading thresholds "
        "proposed ({indicators}). Rationale recorded: {rationale}",
        "{title}：所选级别 {value} 低于分级阈值建议的最低级别 {minimum}（{indicators}）。"
        "记录的理由：{rationale}",
    ),
    "flag_since": (
        "{title}: {value} was chosen, but the facts recorded since ({indicators}) propose at "
        "least {minimum}; revisit the grade and send a supplementary report.",
        "{title}：所选级别为 {value}，但其后记录的事实（{indicators}）建议至少为 {minimum}；"
        "请重新定级并补报。",
    ),
    "exit": ("Exit", "退出码"),
    "stdout": ("stdout", "标准输出"),
    "stderr": ("stderr", "标准错误"),
    "bytes": ("bytes", "字节"),
    "excerpt_cut": ("excerpt; the digest covers all of it", "节选；摘要值覆盖全部输出"),
    "simulated": ("simulated in the drill", "演练中模拟执行"),
    "none": ("None recorded.", "无记录。"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "fallback": ("then paged {route}", "改为通知 {route}"),
    "page_route": ("Page {route}", "通知 {route}"),
    "nothing": ("—", "—"),
    "head": ("Head of the hash chain", "哈希链末端"),
    "events_count": ("Events", "事件数"),
    "verify_with": ("Verify with", "校验命令"),
    "verify_note": (
        "Each event's hash covers its contents and the hash before it, so changing, removing or "
        "reordering any event changes this head.",
        "每个事件的哈希值涵盖其内容和前一事件的哈希值，任何事件被修改、删除或重排都会改变链末端哈希值。",
    ),
    "sha_mismatch": (
        "the recorded sha256 does not match the recorded playbook text",
        "记录的 sha256 与记录的预案文本不一致",
    ),
    # -- summary ---------------------------------------------------------------------------
    "clocks_met": ("Clocks met", "按时完成的时限"),
    "clocks_missed": ("Clocks missed", "未按时完成的时限"),
    "clocks_open": ("Clocks still running", "仍在计时的时限"),
    "steps_done": ("Steps done", "已完成步骤"),
    "steps_skipped": ("Steps skipped", "已跳过步骤"),
    "steps_failed": ("Steps failed", "失败步骤"),
    "steps_open": ("Steps not finished", "未完成步骤"),
    # -- states (codes in the JSON, words here) --------------------------------------------
    "s.live": ("live", "实战"),
    "s.drill": ("drill", "演练"),
    "s.met": ("met", "按时"),
    "s.missed": ("missed", "未按时"),
    "s.running": ("running", "计时中"),
    "s.overdue": ("overdue", "已逾期"),
    "s.waived": ("waived (step skipped)", "免除（步骤已跳过）"),
    "s.not-started": ("not started", "未开始"),
    "s.n/a": ("does not apply", "不适用"),
    "s.done": ("done", "已完成"),
    "s.skipped": ("skipped", "已跳过"),
    "s.failed": ("failed", "失败"),
    "s.pending": ("pending", "待处理"),
    "s.ready": ("ready", "可开始"),
    "s.blocked": ("blocked", "受阻"),
    "s.waiting": ("waiting", "等待中"),
    "s.delivered": ("delivered", "已送达"),
    "s.withheld": ("withheld (drill)", "未发送（演练）"),
    "s.open": ("open", "未关闭"),
    "s.closed": ("closed", "已关闭"),
    "s.high": ("high", "高"),
    "s.medium": ("medium", "中"),
    "s.low": ("low", "低"),
    "early": ("{span} early", "提前 {span}"),
    "late": ("{span} late", "逾期 {span}"),
    "left": ("{span} left", "剩余 {span}"),
    "over": ("over by {span}", "超出 {span}"),
    "under": ("{span} under", "少用 {span}"),
    "off_scale": ("a long stretch, not to scale", "长时段（未按比例）"),
    # -- leniency --------------------------------------------------------------------------
    "len_intro": (
        "The facts below are taken from the hash-chained record of this run. They support a "
        "request for a lighter penalty; whether one is granted is for the authority. This is "
        "not legal advice.",
        "以下事实摘自本次处置的哈希链记录，可用于申请从轻处罚；是否从轻由主管部门决定。本文不构成法律意见。",
    ),
    "len_drill": (
        "This run is a drill: the file below is a rehearsal of the one a real incident would need.",
        "本次为演练：以下材料为真实事件所需材料的演练版本。",
    ),
    "cite_measures_11": (
        "CAC Incident Reporting Measures Art 11: liability may be reduced or waived where the "
        "operator had reasonable and necessary protective measures, handled the incident under "
        "its emergency plan, effectively reduced the impact, and reported on time.",
        "《国家网络安全事件报告管理办法》第十一条：运营者已采取合理必要的防护措施、按照应急预案处置、"
        "有效减轻影响并按时报告的，可视情从轻或者不予追究责任。",
    ),
    "cite_csl_73": (
        "Cybersecurity Law (as amended in 2025), leniency clause (cited as Art 73; the number is "
        "unconfirmed): a penalty may be lighter, mitigated or waived under the Administrative "
        "Penalty Law, e.g. where the party cooperates or actively mitigates the harm.",
        "《网络安全法》（2025年修正）从轻处罚条款（引作第七十三条，条文序号尚待核实）：依照《行政处罚法》"
        "可以从轻、减轻或者不予处罚，例如当事人配合调查或者主动减轻危害后果的。",
    ),
    "cite_apl_32": (
        "Administrative Penalty Law Art 32: a penalty must be lighter or mitigated where the "
        "party actively eliminated or mitigated the harmful consequences, voluntarily confessed "
        "violations the authority did not yet know of, or cooperated with the investigation and "
        "rendered meritorious service.",
        "《行政处罚法》第三十二条：当事人主动消除或者减轻违法行为危害后果、主动供述行政机关尚未掌握的违法行为、"
        "配合行政机关查处违法行为有立功表现的，应当从轻或者减轻行政处罚。",
    ),
    "cite_apl_33": (
        "Administrative Penalty Law Art 33: no penalty where the violation is minor, corrected "
        "in time and caused no harm; a first violation with minor harm corrected in time may go "
        "unpunished.",
        "《行政处罚法》第三十三条：违法行为轻微并及时改正，没有造成危害后果的，不予行政处罚；"
        "初次违法且危害后果轻微并及时改正的，可以不予行政处罚。",
    ),
    "len_reports": (
        "Reports against their deadlines (Measures Art 11: reported on time)",
        "报告及其时限（办法第十一条：按时报告）",
    ),
    "len_measures": (
        "Measures that reduced the harm, done (Measures Art 11; APL Art 32(1))",
        "已完成的减轻危害措施（办法第十一条；行政处罚法第三十二条第一项）",
    ),
    "len_cooperation": (
        "Cooperation with the investigation and meritorious service (APL Art 32(4))",
        "配合行政机关查处违法行为、有立功表现（行政处罚法第三十二条第四项）",
    ),
    "len_evidence": (
        "The scene and the evidence preserved",
        "现场保护和证据保全",
    ),
    "len_preparedness": (
        "Preparedness: earlier drills of this playbook (Measures Art 11: reasonable and "
        "necessary protective measures)",
        "应急准备：此前对本预案的演练（办法第十一条：已采取合理必要的防护措施）",
    ),
    "len_deviations": (
        "Steps skipped or failed (deviations from the plan, not claimed as mitigation)",
        "跳过或失败的步骤（偏离预案之处，不作为从轻情节主张）",
    ),
    "len_plan": (
        "The emergency plan was followed (Measures Art 11)",
        "按照应急预案处置（办法第十一条）",
    ),
    "len_corrections": (
        "Corrections made, with dates (APL Art 33)",
        "已完成的整改及日期（行政处罚法第三十三条）",
    ),
    "len_outside": (
        "Not in this record; attach separately",
        "本记录未包含，须另附",
    ),
    "len_outside_items": (
        "Evidence of protections in place before the incident: the MLPS filing and assessment "
        "(CSL old Art 21 / new Art 23, network logs kept at least 6 months), the emergency plan "
        "(CSL old Art 25 / new Art 27; PIPL Art 51(5)) and drills run outside cslir; whether "
        "this is a first violation (APL Art 33).",
        "事件发生前已有防护措施的证明：等级保护备案和测评（网络安全法原第二十一条/新第二十三条，"
        "网络日志留存不少于六个月）、应急预案（网络安全法原第二十五条/新第二十七条；"
        "个人信息保护法第五十一条第五项）以及在 cslir 之外开展的演练；"
        "是否为初次违法（行政处罚法第三十三条）。",
    ),
    "drill_run": ("Drill {run}, {title}", "演练 {run}，{title}"),
    "len_plan_text": (
        "Run under playbook {playbook} version {version} (sha256 {sha}): {done} steps done, "
        "{skipped} skipped, {failed} failed, {na} did not apply.",
        "依据预案 {playbook}（版本 {version}，sha256 {sha}）处置："
        "完成 {done} 步，跳过 {skipped} 步，失败 {failed} 步，{na} 步不适用。",
    ),
    "since_detection": ("{span} after detection", "发现后 {span}"),
    "evidence_n": ("evidence: {n}", "证据 {n} 份"),
    "attempts": ("{n} attempts", "共 {n} 次尝试"),
    "clock": ("Clock", "时限"),
    "automated": ("automated", "自动执行"),
    "recorded_at": ("recorded {when}", "记录于 {when}"),
    "entered_by": ("entered by {name}", "由 {name} 录入"),
    "sub_recipient": ("to", "报送对象"),
    "sub_channel": ("via", "报送方式"),
    "sub_reference": ("receipt", "回执编号"),
    "no_receipt": ("no evidence attached", "未附证据"),
    # -- timeline sentences ------------------------------------------------------------------
    "ev.run.opened": (
        "Run opened: {title} (sha256 {sha}), {mode}",
        "启动处置：{title}（sha256 {sha}），{mode}",
    ),
    "ev.input.set": ("Input {name} = {value}", "输入 {name} = {value}"),
    "ev.step.started": ("{step} started", "{step} 开始"),
    "ev.step.checked": ("{step}: checked “{item}”", "{step}：已勾选“{item}”"),
    "ev.step.done": ("{step} done", "{step} 已完成"),
    "ev.step.skipped": ("{step} skipped", "{step} 已跳过"),
    "ev.step.failed": ("{step} failed", "{step} 失败"),
    "ev.step.retried": ("{step} retried", "{step} 重试"),
    "ev.decision.made": ("{step}: {input} = {value}", "{step}：{input} = {value}"),
    "ev.approval.requested": (
        "{step}: approval requested from {role}",
        "{step}：申请 {role} 审批",
    ),
    "ev.approval.granted": ("{step}: approved as {role}", "{step}：以 {role} 身份批准"),
    "ev.evidence.added": ("Evidence {name} ({size} bytes)", "证据 {name}（{size} 字节）"),
    "ev.note.added": ("Note: {text}", "备注：{text}"),
    "ev.notify.requested": ("Page {route}: {message}", "通知 {route}：{message}"),
    "ev.notify.delivered": ("Delivered to {route}", "已送达 {route}"),
    "ev.notify.failed": ("Delivery to {route} failed: {error}", "向 {route} 送达失败：{error}"),
    "ev.notify.withheld": ("Not sent to {route}: {detail}", "未发送至 {route}：{detail}"),
    "ev.drill.called": ("Participants called to the drill", "已召集演练参与方"),
    "ev.drill.inject": (
        "Inject {inject} ({when}): {message}",
        "情景注入 {inject}（{when}）：{message}",
    ),
    "ev.drill.advanced": ("Scenario time advanced {by}", "情景时间推进 {by}"),
    "ev.drill.scored": ("Objectives scored", "目标已评分"),
    "ev.drill.rated": (
        "Objective {objective} rated {rating}",
        "目标 {objective} 评定为 {rating}",
    ),
    "ev.command.finished": ("{step}: {summary}", "{step}：{summary}"),
    "ev.clock.warned": ("{clock}: due in under {warn}", "{clock}：剩余不足 {warn}"),
    "ev.clock.missed": ("{clock}: deadline missed", "{clock}：已超过时限"),
    "ev.probe.attempt": (
        "{step}: probe attempt {attempt}: {summary}",
        "{step}：第 {attempt} 次探测：{summary}",
    ),
    "ev.probe.finished": ("{step}: {summary}", "{step}：{summary}"),
    "ev.regulator.dealing": ("{authority}: {kind} — {summary}", "{authority}：{kind}——{summary}"),
    "ev.run.paused": ("Run paused", "处置暂停"),
    "ev.run.resumed": ("Run resumed", "处置继续"),
    "ev.run.closed": ("Run closed", "处置结束"),
    "ev.improvement.added": (
        "Improvement {id}: {text} (owner {owner}, due {due})",
        "改进项 {id}：{text}（负责人 {owner}，期限 {due}）",
    ),
    "ev.improvement.closed": ("Improvement {id} closed", "改进项 {id} 已关闭"),
}


def labels(lang: str) -> dict[str, str]:
    """Every label in ``lang`` (``en`` or ``zh``)."""
    if lang not in LANGS:
        raise ValueError(f"no labels for language {lang!r}; choose one of {', '.join(LANGS)}")
    i = LANGS.index(lang)
    return {key: pair[i] for key, pair in _TABLE.items()}


def state_word(table: Mapping[str, str], code: str | None) -> str:
    """A state code (``met``, ``done``...) in words, or the code itself if it is new to us."""
    if code is None:
        return table["nothing"]
    return table.get(f"s.{code}", code)
