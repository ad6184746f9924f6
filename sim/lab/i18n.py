"""Every label and sentence of the policy lab in English and Chinese (the lab's users are
Chinese operations teams). Metric names are not here: they come from the one metric vocabulary,
:func:`sim.analysis.metrics.metric_name` (``lang="zh"`` for Chinese).

``tr(key, lang, **values)`` formats the text of ``key``; a key missing in Chinese falls back to
English (a test checks that none is missing), an unknown key is shown as itself.
"""

from __future__ import annotations

LANGUAGES = ("en", "zh")

TEXT: dict[str, tuple[str, str]] = {
    # the frame
    "app.title": ("siyu policy lab", "私域策略实验室"),
    "app.subtitle": (
        "Test an operations policy on a simulated private domain before rollout",
        "上线前，在模拟的私域中检验运营策略",
    ),
    "app.language": ("中文", "English"),
    "tab.world": ("1 · World", "1 · 世界"),
    "tab.policies": ("2 · Policies", "2 · 策略"),
    "tab.run": ("3 · Run", "3 · 运行"),
    "tab.verdict": ("4 · Verdict", "4 · 结论"),
    "tab.export": ("5 · Export", "5 · 导出"),
    "tab.history": ("History", "历史"),
    "root": ("Lab folder: {root}", "实验室目录：{root}"),
    # world
    "world.heading": ("Which world?", "选择哪个世界？"),
    "world.choice": ("World", "世界"),
    "world.default": (
        "Default world (documented defaults, docs/MODEL.md)",
        "默认世界（文档默认参数，docs/MODEL.md）",
    ),
    "world.config": ("Config file: {path}", "配置文件：{path}"),
    "world.twin": ("Fitted twin: {path}", "拟合的数字孪生：{path}"),
    "world.users": ("Initial users ({low:,}–{high:,})", "初始用户数（{low:,}–{high:,}）"),
    "world.days_input": ("Horizon in days ({low}–{high})", "模拟天数（{low}–{high}）"),
    "world.apply": ("Use this world", "使用这个世界"),
    "world.summary": ("Summary of the world", "世界概要"),
    "world.source": ("source", "来源"),
    "world.initial_users": ("initial users", "初始用户数"),
    "world.arrivals": ("new registrations a day", "每日新注册用户"),
    "world.days": ("horizon (days)", "模拟天数"),
    "world.expected_users": ("users over the horizon (about)", "模拟期内用户总数（约）"),
    "world.seed": ("seed", "随机种子"),
    "world.twin_name": ("twin folder", "孪生目录"),
    "world.churn_model": ("churn model", "流失模型"),
    "world.ok": ("World checked: valid.", "世界已校验：有效。"),
    "laws.heading": ("Laws status (siyu laws)", "行为规律状态（siyu laws）"),
    "laws.unchecked": (
        "Not checked for this world yet. The default world at full scale holds "
        "26 of 26 laws (docs/LAWS.md).",
        "这个世界尚未检查。默认世界在完整规模下 26 条规律全部成立（docs/LAWS.md）。",
    ),
    "laws.unchecked_other": ("Not checked for this world yet.", "这个世界尚未检查。"),
    "laws.check": ("Check laws (quick mode; takes minutes)", "检查规律（快速模式，需要几分钟）"),
    "laws.checking": ("Checking the laws… the page stays usable.", "正在检查规律……页面仍可使用。"),
    "laws.result": ("{held} of {total} laws hold", "{total} 条规律中 {held} 条成立"),
    "laws.failed": ("Laws check failed: {error}", "规律检查失败：{error}"),
    "laws.law": ("law", "规律"),
    "laws.measured": ("measured", "测量值"),
    "laws.band": ("band", "区间"),
    "laws.status": ("status", "状态"),
    # policies
    "pol.heading": ("Control and up to three policies", "对照组与最多三个策略"),
    "pol.control": ("Control (today's operations)", "对照组（当前运营方式）"),
    "pol.arm": ("Policy {n}", "策略 {n}"),
    "pol.label": ("Name shown in results", "结果中显示的名称"),
    "pol.add_strategy": ("Add a strategy", "添加策略"),
    "pol.strategy": ("Strategy", "策略"),
    "pol.remove": ("Remove", "删除"),
    "pol.add_arm": ("Add a policy", "添加策略组"),
    "pol.remove_arm": ("Remove this policy", "删除这个策略组"),
    "pol.no_strategy": (
        "No strategy: nothing is done for these users.",
        "未选择策略：不对这些用户做任何运营。",
    ),
    "pol.param_hint": ("{type}; {allowed}default {default}", "{type}；{allowed}默认 {default}"),
    "pol.allowed": ("allowed {allowed}; ", "取值 {allowed}；"),
    "pol.rules": ("Rules (YAML, checked as you type)", "规则（YAML，输入时即检查）"),
    "pol.rules_help": (
        "A list of rules: name, when (condition), on (schedule), do (action). "
        "See docs/RULES_LANGUAGE.md.",
        "规则列表：name（名称）、when（条件）、on（时间）、do（动作）。"
        "参见 docs/RULES_LANGUAGE.md。",
    ),
    "pol.rules_ok": ("Rules valid. Dry run on day 0:", "规则有效。第 0 天试运行："),
    "pol.rules_empty": ("No rules.", "没有规则。"),
    "pol.rules_error": (
        "Error at line {line}, column {column}: {error}",
        "第 {line} 行第 {column} 列出错：{error}",
    ),
    "pol.rules_error_nopos": ("Error: {error}", "错误：{error}"),
    "pol.rule": ("rule", "规则"),
    "pol.schedule": ("when it runs", "执行时间"),
    "pol.selected": ("users selected", "选中用户"),
    "pol.reachable": ("reachable", "可触达"),
    "pol.warnings": ("warnings", "提示"),
    "pol.design": ("Design", "实验设计"),
    "pol.name": ("Experiment name (letters, digits, _ or -)", "实验名称（字母、数字、_ 或 -）"),
    "pol.unit": ("Randomise by", "随机分配单位"),
    "pol.unit.user": ("user", "用户"),
    "pol.unit.group": ("group (whole WeChat groups)", "社群（整个微信群）"),
    "pol.replications": ("Replications (1–{max})", "重复次数（1–{max}）"),
    "pol.uplift": (
        "Also estimate individual effects (uplift; slower)",
        "同时估计个体效应（uplift，较慢）",
    ),
    "pol.check": ("Check the experiment", "检查实验"),
    "pol.valid": (
        "The experiment is valid: {runs} runs ({arms} policies × {reps} replications).",
        "实验有效：共 {runs} 次运行（{arms} 组 × {reps} 次重复）。",
    ),
    "pol.invalid": ("Not valid: {error}", "无效：{error}"),
    # run
    "run.heading": ("Run the experiment", "运行实验"),
    "run.start": ("Run", "开始运行"),
    "run.cancel": ("Cancel", "取消"),
    "run.need_world": ("Choose a world first (tab 1).", "请先选择世界（第 1 步）。"),
    "run.overall": (
        "Overall: {done} of {total} runs finished, {elapsed:.0f} s",
        "总体：{total} 次运行中已完成 {done} 次，用时 {elapsed:.0f} 秒",
    ),
    "run.state.queued": ("Preparing…", "准备中……"),
    "run.state.running": ("Running…", "运行中……"),
    "run.state.analysing": ("Analysing the results…", "分析结果中……"),
    "run.state.done": (
        "Finished in {elapsed:.0f} s. See the verdict.",
        "已完成，用时 {elapsed:.0f} 秒。请查看结论。",
    ),
    "run.state.failed": ("Failed: {error}", "失败：{error}"),
    "run.state.cancelled": (
        "Cancelled. Finished runs are kept in {folder}.",
        "已取消。已完成的运行保存在 {folder}。",
    ),
    "run.run": ("run", "运行"),
    "run.policy": ("policy", "策略组"),
    "run.replication": ("replication", "重复"),
    "run.days": ("days simulated", "已模拟天数"),
    "run.status": ("status", "状态"),
    "run.error": ("error", "错误"),
    "run.where": ("Results: {folder}", "结果目录：{folder}"),
    "status.queued": ("queued", "排队中"),
    "status.running": ("running", "运行中"),
    "status.done": ("done", "完成"),
    "status.failed": ("failed", "失败"),
    # verdict
    "verdict.heading": ("Verdict", "结论"),
    "verdict.none": (
        "No experiment yet: run one (tab 3) or open one from History.",
        "还没有实验：请运行一个（第 3 步）或从历史中打开。",
    ),
    "verdict.experiment": (
        "{name}: {days} days, {reps} replication(s), randomised by {unit}",
        "{name}：{days} 天，{reps} 次重复，按{unit}随机分配",
    ),
    "badge.ship": ("SHIP", "可以上线"),
    "badge.no_ship": ("DO NOT SHIP", "不要上线"),
    "badge.inconclusive": ("INCONCLUSIVE", "尚无定论"),
    "verdict.rule": (
        "Decision rule: SHIP when net value per user beats the control with probability ≥ {p}, "
        "the expected loss if shipped is below {share} of the control's net value per user "
        "({loss} here), and no guardrail ({retention}, {churn}) is significantly worse "
        "(adjusted p < {alpha}). DO NOT SHIP when that probability is ≤ {low} or a guardrail is "
        "significantly worse. Otherwise INCONCLUSIVE. Probabilities and expected loss read the "
        "paired replications' t interval as a posterior.",
        "判定规则：当人均净价值优于对照组的概率 ≥ {p}、上线后的期望损失低于对照组人均净价值的 "
        "{share}（本实验为 {loss}），且护栏指标（{retention}、{churn}）没有显著变差"
        "（校正后 p < {alpha}）时，判为“可以上线”。当该概率 ≤ {low} 或护栏指标显著变差时，"
        "判为“不要上线”。其余情况为“尚无定论”。概率与期望损失把配对重复的 t 区间当作后验分布来读。",
    ),
    "verdict.sentence": (
        "{arm} against the control ({control}): net value per user over {days} days {diff} "
        "(95% interval {ci}); a {p} chance that it beats the control, expected loss {loss} per "
        "user if shipped ({reps} paired replications). ",
        "{arm} 对比对照组（{control}）：{days} 天人均净价值 {diff}（95% 区间 {ci}）；"
        "优于对照组的概率为 {p}，若上线，人均期望损失 {loss}（{reps} 次配对重复）。",
    ),
    "verdict.guards": ("Guardrails: {guards}. ", "护栏指标：{guards}。"),
    "verdict.then.ship": ("Verdict: ship.", "结论：可以上线。"),
    "verdict.then.no_ship": ("Verdict: do not ship.", "结论：不要上线。"),
    "verdict.then.inconclusive": (
        "Verdict: inconclusive — more replications or a larger world would narrow the interval.",
        "结论：尚无定论——增加重复次数或扩大世界规模可以缩小区间。",
    ),
    "verdict.no_net": (
        "{arm}: no net value difference could be measured against {control}.",
        "{arm}：无法测得相对 {control} 的净价值差异。",
    ),
    "col.metric": ("metric", "指标"),
    "col.control": ("control", "对照组"),
    "col.arm": ("policy", "策略组"),
    "col.difference": ("difference [95% interval]", "差异 [95% 区间]"),
    "col.prob": ("chance to beat control", "优于对照组的概率"),
    "col.loss": ("expected loss if shipped", "上线的期望损失"),
    "chart.retention": (
        "Share retained by days since joining (band: 95% across replications)",
        "按加入天数的留存比例（阴影：重复间 95% 区间）",
    ),
    "chart.ltv": (
        "Net value per user by day (LTV; band: 95% across replications)",
        "按天累计的人均净价值（LTV；阴影：重复间 95% 区间）",
    ),
    "chart.survival": (
        "Survival: share not churned (Kaplan–Meier, 95% band)",
        "生存曲线：未流失比例（Kaplan–Meier，95% 区间）",
    ),
    "chart.day": ("day", "天"),
    "segments.heading": (
        "Segment effects: net value per user, arm − control",
        "分群效应：人均净价值，策略组 − 对照组",
    ),
    "col.segment": ("segment", "分群维度"),
    "col.value": ("value", "分群"),
    "col.users": ("users", "用户数"),
    "col.effect": ("difference", "差异"),
    "col.interval": ("95% interval", "95% 区间"),
    "segment.initial_stage": ("stage at start", "初始阶段"),
    "segment.initial_quadrant": ("value × engagement at start", "初始价值×活跃象限"),
    "segment.channel": ("channel", "渠道"),
    "segment.occupation": ("occupation", "职业"),
    # export
    "export.heading": ("Export", "导出"),
    "export.yaml": (
        "Experiment YAML — `siyu run` on it reproduces these numbers",
        "实验 YAML——对它执行 `siyu run` 可复现这些数字",
    ),
    "export.download_yaml": ("Download YAML", "下载 YAML"),
    "export.report": ("Make the HTML report", "生成 HTML 报告"),
    "export.report_making": (
        "Making the report (runs the report notebook)…",
        "正在生成报告（执行报告笔记本）……",
    ),
    "export.report_ready": ("Report: {path}", "报告：{path}"),
    "export.download_report": ("Download the report", "下载报告"),
    "export.folder": ("Experiment folder: {folder}", "实验目录：{folder}"),
    "export.download_folder": ("Download the folder (zip)", "下载目录（zip）"),
    "export.command": ("Reproduce in a terminal:", "在终端中复现："),
    # history
    "history.heading": ("Past experiments in the lab folder", "实验室目录中的历史实验"),
    "history.none": ("No experiments yet.", "还没有实验。"),
    "history.open": ("Open", "打开"),
    "history.name": ("name", "名称"),
    "history.started": ("started", "开始时间"),
    "history.status": ("status", "状态"),
    "history.policies": ("policies", "策略组"),
    "history.path": ("folder", "目录"),
    "history.opened": ("Opened {name}.", "已打开 {name}。"),
    # errors
    "error.path": ("Refused: {error}", "已拒绝：{error}"),
    "error.generic": ("Error: {error}", "错误：{error}"),
}

STRATEGIES_ZH = {
    "none": "不运营（基准）",
    "blanket": "全量推送",
    "tiered_content": "分层内容",
    "recall_coupon": "召回优惠券",
    "group_pruning": "社群清理",
    "new_user_followup": "新用户跟进",
    "progress_nudge": "学习进度激励",
    "vip_club": "VIP 俱乐部",
    "koc_programme": "KOC 计划",
    "referral_rewards": "推荐奖励",
    "timed_offer": "定时优惠",
    "gamification": "游戏化积分",
    "content_calendar": "内容日历",
    "value_paving": "价值铺垫",
    "churn_warning": "流失预警",
    "rules": "规则",
}
"""Chinese names of the built-in strategies (an installed strategy shows its own name)."""

DESCRIPTIONS_ZH = {
    "none": "不做任何运营：衡量所有策略效果的基准。",
    "blanket": "对所有可触达用户推送同样的促销（及可选的内容）。",
    "tiered_content": "按阶段分层、按用户偏好选类别，每隔 every_days 天推送一次。",
    "recall_coupon": "浅度流失：优惠券 + 精彩回顾；深度流失：1 对 1 电话 + 回归优惠券。",
    "group_pruning": "移出被判断为捣乱的成员（或沉默 silent_days 天的成员）；人数上限 max_size。",
    "new_user_followup": "新用户到达时发送欢迎内容和入群链接；首次付费后 1 对 1 沟通学习目标。",
    "progress_nudge": "学习进度达到 threshold 时给奖励（每个产品一次）；每周学习报告。",
    "vip_club": "付费 ≥ 3 次的用户：每周会员内容、每月 1 对 1 关怀和节日礼物。",
    "koc_programme": "给低价值、高活跃用户小奖励和积分，并可认定为带动群讨论的 KOC。",
    "referral_rewards": "21 天邀请活动：邀请 3 位好友即解锁 ¥20 奖励。",
    "timed_offer": "每周在选定的星期几和时段发一次促销和优惠券（默认：人群高峰时段）。",
    "gamification": "活跃每日积分、连续打卡奖励和升级徽章。",
    "content_calendar": "固定星期几、固定时段推送知识、互动、促销和种草内容。",
    "value_paving": "新用户头几天先推相关内容，之后才推促销。",
    "churn_warning": "“7 天沉默”或“打开后 3 天无互动”时进行 1 对 1 触达。",
}
"""Chinese for the first line of each built-in strategy's docstring."""

PARAMS_ZH = {
    "blanket.promos_per_day": "每位用户每天的促销条数（0.5 = 隔天一条）",
    "blanket.content_per_day": "每位用户每天的内容推送条数",
    "blanket.content_tier": "推送内容的层级",
    "blanket.content_category": "推送内容的类别",
    "tiered_content.every_days": "对同一用户两次推送之间的天数",
    "tiered_content.offset_days": "首次推送的日期（模拟第几天）",
    "tiered_content.personalised": "按每位用户偏好的类别推送（否则用 category）",
    "tiered_content.category": "不个性化时推送的类别",
    "recall_coupon.trigger_silence_days": "沉默多少天后召回",
    "recall_coupon.deep_after_days": "沉默多少天起算深度流失（打电话）",
    "recall_coupon.discount": "浅度流失的折扣比例",
    "recall_coupon.deep_discount": "深度流失的折扣比例",
    "recall_coupon.valid_days": "优惠券有效天数",
    "recall_coupon.cooldown_days": "同一用户再次被召回前的间隔天数",
    "recall_coupon.call_minutes": "每通电话的分钟数（None = 世界默认值）",
    "group_pruning.max_size": "社群保留的成员上限（人）",
    "group_pruning.silent_days": "不发言多少天后移出",
    "group_pruning.every_days": "两次沉默清理之间的天数",
    "new_user_followup.welcome_tier": "欢迎内容的层级",
    "new_user_followup.invite": "欢迎时发送入群邀请",
    "new_user_followup.followup_delay_days": "发现首次付费后多少天进行 1 对 1",
    "new_user_followup.followup_minutes": "每次 1 对 1 的分钟数（None = 世界默认值）",
    "progress_nudge.threshold": "获得礼物所需的课程进度比例",
    "progress_nudge.gift": "完课礼物（¥）",
    "progress_nudge.points": "随完课礼物发放的积分",
    "progress_nudge.report_every_days": "两次学习报告之间的天数",
    "vip_club.min_purchases": "成为会员所需的购买次数（含历史）",
    "vip_club.content_every_days": "两次会员内容推送之间的天数",
    "vip_club.care_every_days": "对会员两次关怀电话之间的天数",
    "vip_club.care_minutes": "每通电话的分钟数（None = 世界默认值）",
    "vip_club.gift": "节日礼物（¥）",
    "vip_club.gift_every_days": "两次节日礼物之间的天数",
    "koc_programme.min_active_days_30": "近 30 天内达到资格的活跃天数",
    "koc_programme.max_value": "累计收入低于此值（¥）的用户才有资格",
    "koc_programme.points": "每次奖励的积分",
    "koc_programme.gift": "每次奖励的礼物（¥）",
    "koc_programme.every_days": "两轮奖励之间的天数",
    "koc_programme.invite": "邀请尚未入群的合格用户入群",
    "referral_rewards.mode": "奖励方式：解锁、按成功邀请计奖或团队目标",
    "referral_rewards.goal": "解锁所需邀请的好友数（团队目标时为每位成员）",
    "referral_rewards.gift": "一份奖励的价值（¥）",
    "referral_rewards.drive_days": "每轮邀请活动持续的天数",
    "referral_rewards.start_day": "第一轮活动开始的日子",
    "referral_rewards.every_days": "两轮活动开始之间的天数（0 = 只办一轮）",
    "referral_rewards.members_only": "只向社群成员发起活动",
    "timed_offer.weekday": "优惠在星期几（0 = 周一）",
    "timed_offer.hour": "发送时段 0-23（-1 = 人群高峰，-2 = 人群低谷）",
    "timed_offer.discount": "优惠券：下一次购买的折扣比例",
    "timed_offer.valid_days": "优惠券有效天数（含当天）",
    "content_calendar.push_hour": "推送时段 0-23（-1 = 人群高峰，-2 = 低谷）",
    "group_pruning.remove": "清理对象：被判断为捣乱者、长期沉默者或随机成员（安慰剂）",
    "koc_programme.lead": "把获奖用户认定为带动群讨论的 KOC",
    "koc_programme.kocs_per_group": "每个群认定的 KOC 人数，最活跃者优先（人）",
    "gamification.points_per_active_day": "每个活跃日的积分",
    "gamification.streak_days": "获得连续打卡奖励所需的连续活跃天数",
    "gamification.streak_gift": "连续打卡奖励的价值（¥）",
    "gamification.levels": "各等级的积分门槛（递增）",
    "gamification.level_gift": "徽章礼物（¥）× 等级",
    "content_calendar.knowledge_day": "知识内容在星期几（0 = 周一）",
    "content_calendar.interaction_day": "社群互动在星期几（0 = 周一）",
    "content_calendar.promotion_day": "促销在星期几（0 = 周一）",
    "content_calendar.seeding_day": "种草故事在星期几（0 = 周一）",
    "content_calendar.promo_count": "促销日每位用户的促销条数",
    "content_calendar.invite": "在互动日邀请未入群的用户入群",
    "value_paving.paving_days": "首次促销前推送内容的天数",
    "value_paving.content_every_days": "两次铺垫内容推送之间的天数",
    "value_paving.promo_every_days": "铺垫期后两次促销之间的天数",
    "value_paving.promo_count": "每个促销日每位用户的促销条数",
    "churn_warning.silent_days": "触发预警的沉默天数",
    "churn_warning.after_open_days": "打开消息后多少天无活动触发预警",
    "churn_warning.cooldown_days": "同一用户再次被预警前的间隔天数",
    "churn_warning.minutes": "每次 1 对 1 的分钟数（None = 世界的 contact_minutes）",
}
"""Chinese meanings of the built-in strategies' parameters (``strategy.parameter``); the
English is the declaration's own (strategies/params.py)."""

VALUES_ZH = {
    "organic": "自然流量", "ads": "广告", "content": "内容", "live": "直播", "referral": "推荐",
    "potential": "潜在", "new": "新用户", "core": "核心", "dormant": "沉睡",
    "high_value_low_engagement": "高价值低活跃", "low_value_low_engagement": "低价值低活跃",
    "high_value_high_engagement": "高价值高活跃", "low_value_high_engagement": "低价值高活跃",
    "student": "学生", "early_career": "职场新人", "mid_career": "职场中坚", "manager": "管理者",
    "parent": "家长", "holds": "成立", "violated": "不成立", "not measurable": "无法测量",
    "reported": "仅报告", "user": "用户", "group": "社群", "complete": "完成",
    "complete-with-failures": "完成（有失败）", "interrupted": "中断", "failed": "失败",
    "running": "运行中",
}  # fmt: skip
"""Chinese for data values the page shows (segment values, statuses)."""


def tr(key: str, lang: str = "en", **values: object) -> str:
    """The text of ``key`` in ``lang`` ("en" or "zh"), formatted with ``values``."""
    en, zh = TEXT.get(key, (key, ""))
    text = zh if lang == "zh" and zh else en
    return text.format(**values) if values else text


def strategy_label(name: str, lang: str) -> str:
    """A strategy's name for a menu: ``blanket`` or ``全量推送 (blanket)``."""
    zh = STRATEGIES_ZH.get(name)
    return f"{zh} ({name})" if lang == "zh" and zh else name


def strategy_text(name: str, english: str, lang: str) -> str:
    """A strategy's one-line description in the page's language."""
    return DESCRIPTIONS_ZH.get(name, english) if lang == "zh" else english


def param_meaning(strategy: str, param: str, english: str, lang: str) -> str:
    """A parameter's meaning in the page's language (an installed strategy's stays English)."""
    return PARAMS_ZH.get(f"{strategy}.{param}", english) if lang == "zh" else english


def allowed_text(allowed: str, choices: tuple[str, ...], lang: str) -> str:
    """A parameter's range or choices in the page's language."""
    if lang == "zh" and choices:
        return "以下之一：" + ", ".join(choices)
    return allowed


def value_label(value: str, lang: str) -> str:
    """A data value (segment, status) in the page's language."""
    return VALUES_ZH.get(value, value) if lang == "zh" else value.replace("_", " ")
