"""Why an instance cannot move to another version, in words an owner reads (Chinese, and English).

Every check of a migration answers with ``Reason`` values: a stable ``code`` (for programs and
tests), the element it concerns, and a sentence in both languages. ``MigrationRefused`` carries
them out of the ``MigrateInstance`` command: a refusal changes nothing (409).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import EngineError

# code -> (Chinese, English) templates; ``{name}`` is the element's name, ``{element}`` its BPMN id.
MESSAGES: dict[str, tuple[str, str]] = {
    "task_removed": ("当前所处的「{name}」（{element}）在目标版本中已不存在，可在迁移计划中把它映射到目标版本的元素",
                     "the instance is at {name} ({element}), which the target version no longer has; map it "
                     "to an element of the target version"),
    "type_changed": ("当前所处的「{name}」（{element}）在目标版本中变成了另一种元素（{detail}）",
                     "the instance is at {name} ({element}), which is another kind of element in the target "
                     "version ({detail})"),
    "called_process_changed": ("正在进行的子流程「{name}」（{element}）在目标版本中调用了另一个流程（{detail}）",
                               "the running call activity {name} ({element}) calls another process in the target "
                               "version ({detail})"),
    "called_process_removed": ("正在进行的子流程「{name}」（{element}）所调用的流程 {detail} 不在目标版本中",
                               "the running call activity {name} ({element}) calls {detail}, which the target "
                               "version does not have"),
    "multi_instance_changed": ("正在进行的多实例环节「{name}」（{element}）在目标版本中有改动，进行中的各份不能改变",
                               "the multi-instance activity {name} ({element}) is running and changed in the target "
                               "version; its running instances cannot change"),
    "structure_changed": ("「{name}」（{element}）周围的结构在目标版本中有改动，无法在进行中调整（{detail}）",
                          "the structure around {name} ({element}) changed in a way a running instance cannot "
                          "follow ({detail})"),
    "join_waits_forever": ("迁移后，汇聚「{name}」（{element}）将等待本实例已经越过的分支「{detail}」，流程会停住",
                           "after the migration the join {name} ({element}) would wait for the branch {detail}, "
                           "which this instance has already passed: it would never continue"),
    "form_invalid": ("已提交的「{name}」（{element}）数据不符合目标版本的表单：{detail}",
                     "the data submitted at {name} ({element}) does not satisfy the target version's form: {detail}"),
    "task_unassignable": ("迁移后待办「{name}」（{element}）无法确定办理人：{detail}",
                          "after the migration the task {name} ({element}) has nobody to do it: {detail}"),
    "stuck": ("迁移后实例将既没有待办、定时器，也没有等待的消息",
              "after the migration the instance would have no task, timer or message to wait for"),
    "failed": ("迁移时出错：{detail}", "the migration failed: {detail}"),
    "already_on_target": ("实例已在目标版本上", "the instance is already on the target version"),
    "not_on_source": ("实例不在源版本上（当前定义版本 {detail}）",
                      "the instance is not on the source version (it pins definition version {detail})"),
    "finished": ("实例已经结束（{detail}）", "the instance has finished ({detail})"),
}


@dataclass(frozen=True)
class Reason:
    """One reason an instance cannot move (or, with ``blocking`` false, a note on how it moves)."""

    code: str
    element: str | None = None
    name: str | None = None
    process_id: str | None = None
    detail: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    # Whether every instance at the same position gets the same answer (the dry-run reuses those).
    structural: bool = True

    @property
    def message_zh(self) -> str:
        return MESSAGES[self.code][0].format(name=self.name or self.element or "", element=self.element or "",
                                             detail=self.detail)

    @property
    def message_en(self) -> str:
        return MESSAGES[self.code][1].format(name=self.name or self.element or "", element=self.element or "",
                                             detail=self.detail)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "element": self.element, "name": self.name, "process_id": self.process_id,
                "message_zh": self.message_zh, "message_en": self.message_en, "fields": dict(self.fields)}


class MigrationRefused(EngineError):
    """The instance cannot move to the target version; ``reasons`` says why. Nothing was changed."""

    code = "migration_refused"
    http_status = 409

    def __init__(self, reasons: list[Reason]):
        first = reasons[0] if reasons else Reason("failed", detail="unknown")
        more = f" (+{len(reasons) - 1})" if len(reasons) > 1 else ""
        super().__init__(f"{first.message_zh} / {first.message_en}{more}")
        self.reasons = list(reasons)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "reasons": [r.to_dict() for r in self.reasons]}
