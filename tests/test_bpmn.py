"""The shipped diagrams: they deploy, every element is drawn, every task is wired to code."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

import config
import handlers  # noqa: F401  (registers the services)
from engine import deploy, services

BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"
NS = {"bpmn": deploy.BPMN, "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "spiffworkflow": deploy.SPIFF}
FILES = sorted(BPMN_DIR.glob("*.bpmn"))


def test_the_bundle_passes_every_deploy_check():
    bundle = deploy.analyse(deploy.read_directory(BPMN_DIR), known_roles=config.role_keys())
    # Embedded subprocesses (filing_period) are not startable processes of their own.
    assert set(bundle.meta["executable"]) == {
        "green_application", "review_step", "bureau_consultation", "public_notice",
        "annual_table_campaign", "annual_table_filing", "complaint", "unit_change", "unit_incident", "list_publication", "national_recommendation",
        "evaluator_registry", "evaluator_finding", "evaluator_work_report", "evaluator_work_report_filing", "cultivation_plan", "cultivation_report",
        "credit_record", "spot_check", "spot_check_site",
        "expert_scoring"}  # 专家独立评分: one panel expert's score, called per expert (第十八条)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_flow_node_and_flow_is_drawn(path):
    root = etree.parse(str(path)).getroot()
    drawn = {s.get("bpmnElement") for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    process = root.find("bpmn:process", NS)
    nodes = [el.get("id") for el in process if etree.QName(el).localname not in
             ("laneSet", "sequenceFlow", "extensionElements", "documentation",
              "property")]  # a declared loop collection (bpmn:property) has no shape
    flows = [el.get("id") for el in process.iterfind("bpmn:sequenceFlow", NS)]
    lanes = [el.get("id") for el in process.iterfind(".//bpmn:lane", NS)]
    assert set(nodes) - drawn == set()
    assert set(lanes) - drawn == set()
    assert set(flows) - edges == set()


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_element_has_a_chinese_name(path):
    root = etree.parse(str(path)).getroot()
    process = root.find("bpmn:process", NS)
    unnamed = [el.get("id") for el in process
               if etree.QName(el).localname.endswith(("Task", "Event", "Activity", "Gateway"))
               and not any("\u4e00" <= ch <= "\u9fff" for ch in el.get("name", ""))]
    assert unnamed == []


def test_every_service_task_names_a_registered_operator():
    operators = set()
    for path in FILES:
        root = etree.parse(str(path)).getroot()
        operators |= {op.get("id") for op in root.iterfind(".//spiffworkflow:serviceTaskOperator", NS)}
    assert operators and operators <= services.service_names()
