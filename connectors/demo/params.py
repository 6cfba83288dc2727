"""Behaviour of the demo plant before and after go-live: the levers the improvement story turns.

Each `Lever` holds the value in the baseline and the value once the digital system is fully in
use; `calendar.ramp` blends them over RAMP_DAYS after go-live. Magnitudes are chosen so the
三降两提升 KPIs move inside the ranges of docs (KPIS.md §1): defects -20..-40 %, cost per unit
-10..-25 %, energy per unit -10..-20 %, standard hours per labour hour +20..+50 %, output value
per head +15..+40 %, OEE up a few points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RAMP_DAYS = 182.0


@dataclass(frozen=True)
class Lever:
    before: float
    after: float

    def at(self, r: np.ndarray | float) -> np.ndarray:
        return self.before + (self.after - self.before) * np.asarray(r, dtype=float)


# Shift template (seconds after the shift start): planned stops split the shift into 4 work blocks.
BLOCKS = ((0, 7200), (7800, 14400), (16200, 21600), (22200, 28200))
PLANNED_STOPS = ((7200, 7800, "P01"), (14400, 16200, "P02"), (21600, 22200, "P01"), (28200, 28800, "P03"))
PBT_S = 25_200  # POT 28 800 s minus 3 600 s of planned stops

# Stops inside a work block. Rates are per shift; per-line factors spread them.
BREAKDOWN_PER_SHIFT = Lever(1.0, 0.86)
BREAKDOWN_MEDIAN_S = Lever(2_100.0, 2_000.0)
BREAKDOWN_SIGMA = 0.7
BREAKDOWN_REASONS = ("B01", "B02", "B03", "B04", "B05", "B06")  # spindle, hydraulic, electrical, tool, robot, sensor
BREAKDOWN_WEIGHTS = (0.31, 0.23, 0.17, 0.14, 0.10, 0.05)
MINOR_PER_SHIFT = Lever(6.0, 5.4)
MINOR_S = (150.0, 450.0)
MINOR_REASONS = ("M01", "M02", "M03")  # jam, sensor misread, feed interruption
MINOR_WEIGHTS = (0.5, 0.3, 0.2)
IDLE_PER_SHIFT = Lever(0.36, 0.30)
IDLE_S = (1_200.0, 5_400.0)
IDLE_REASONS = ("I01", "I02", "I03")  # no order, waiting for material, no operator
IDLE_WEIGHTS = (0.45, 0.40, 0.15)
SETUP_MIN_S = Lever(1_500.0, 1_000.0)  # changeover takes 1x-2x this (SMED shortens it)
SETUP_REASON = "S01"
MINOR_SLOTS = 3  # minor-stop slots per block; with one breakdown and one idle slot: 5 event slots

# Speed and quality.
PERFORMANCE = Lever(0.885, 0.905)
PERFORMANCE_SD = 0.02
PERFORMANCE_RANGE = (0.85, 0.97)
SCRAP_RATE = Lever(0.016, 0.0110)
REWORK_RATE = Lever(0.024, 0.0165)
QUALITY_DAY_SIGMA = 0.25
DEFECT_TYPES = ("尺寸超差", "表面划伤", "毛刺", "硬度不合格", "气孔砂眼")
DEFECT_WEIGHTS = (0.34, 0.26, 0.18, 0.13, 0.09)
PLAN_RATE = 0.72  # planned quantity = PBT x PLAN_RATE / ideal cycle

# Product mix: logit per product = -MIX_RANK * rank in family + trend * years since go-live.
MIX_RANK = 0.25
MIX_TREND = 0.25  # the last product of a family gains this logit per year, the first loses it

# People.
CREW_PER_EQUIPMENT = 2.0
CREW_FACTOR = Lever(1.0, 0.82)
CREWS_PER_LINE = 3.6  # heads per crew position: three shifts plus relief
INDIRECT_PER_WORKSHOP = Lever(30.0, 28.0)
INDIRECT_PER_PLANT = Lever(75.0, 70.0)
WAGE_DIRECT_CNY = 8_200.0
WAGE_INDIRECT_CNY = 11_500.0

# Money (per plant and month unless said otherwise).
MATERIAL_RATIO = Lever(0.46, 0.40)  # material cost / list price, per produced unit
OVERHEAD_PER_LINE_CNY = 300_000.0  # depreciation, maintenance, tooling
ENERGY_CNY_PER_STD_H = Lever(32.0, 27.0)
SELLING = (0.025, 150_000.0)  # share of output value, fixed part
ADMIN_FIXED_CNY = 350_000.0
RND = (0.03, 100_000.0)
PRICE_SD = 0.01

# Energy. Line load in kW = RUN_KW_PER_EQUIPMENT x equipment x line factor x state share.
RUN_KW_PER_EQUIPMENT = 30.0
LOAD_SHARE_OTHER = 0.35  # setup, breakdown, minor stop, idle
LOAD_SHARE_PLANNED_STOP = 0.22
STANDBY_SHARE = Lever(0.16, 0.08)  # outside planned shifts (smart power-down after go-live)
AUX_KW_PER_LINE = Lever(48.0, 40.0)  # HVAC, lighting, compressed air
AUX_OFF_SHIFT_SHARE = 0.35
SUMMER_PEAK = (0.65, 205.0, 30.0)  # +share, day of year, width in days (Chongqing: hot Jul-Aug)
WINTER_PEAK = (0.35, 15.0, 40.0)
ELECTRICITY_SD = 0.03
DAILY_MEDIA = {  # per workshop: base per line-day, per produced standard hour, winter share
    "natural_gas": (Lever(45.0, 38.0), Lever(2.1, 1.85), 0.5),
    "water": (Lever(6.0, 5.2), Lever(0.05, 0.045), 0.0),
    "steam": (Lever(1.0, 0.85), Lever(0.020, 0.017), 0.6),
    "heat": (Lever(400.0, 340.0), Lever(10.0, 8.8), 0.8),
    "diesel": (Lever(8.0, 7.0), Lever(0.02, 0.018), 0.0),
}
DAILY_SD = 0.04

# Warehouses.
FG_COVER_DAYS = Lever(7.0, 5.0)
RM_COVER_DAYS = Lever(12.0, 8.5)
RM_ITEMS = ((1.0, 0.35), (0.4, None), (0.1, None))  # (use per unit, unit cost share of price or None)
RM_FIXED_COST = {1: 14.0, 2: 36.0}  # CNY per unit for the items without a price share

# Maintenance. Every breakdown interval of a line is a corrective work order on one of its equipment;
# equipment differ in how often they fail (weights exp(EQUIPMENT_FAILURE_SD x z)), so rarely failing
# machines have months with fewer than 5 failures. Preventive orders are planned on Sundays (no shifts).
EQUIPMENT_FAILURE_SD = 0.6
PM_INTERVAL_WEEKS = (2, 4, 4, 6, 8)  # one per equipment, picked by its hash
PM_LATE = Lever(0.16, 0.05)  # done one (or two) Sundays late
PM_MISSED = Lever(0.04, 0.01)  # never done; closed a week after the planned day
PM_HOURS = Lever(3.0, 4.5)  # median duration: PM gets more thorough after go-live
PM_LATE_TWO_WEEKS = 0.25  # share of the late ones done two weeks late

# Measurements: SAMPLE_PARTS consecutive parts per shift, 4 h into it. Position of the mean and spread
# are in half-tolerances: Cpk = (1 - |bias|) / (3 sd) per characteristic, about 1.1 before and 1.65 after
# go-live (a line shows its weakest product, about 1.0 and 1.45).
SAMPLE_PARTS = 5
MEAN_BIAS = Lever(0.12, 0.05)
PROCESS_SD = Lever(0.26, 0.19)
DAY_DRIFT_SD = 0.05
NO_FAULT_FOUND = Lever(0.009, 0.004)  # first test failed, retest passed without rework: not first-pass good

# Orders. Sales order lines per plant and weekday; delivery and supplier reliability rise after go-live.
SALES_ORDERS_PER_DAY = (3, 6)
SALES_LEAD_DAYS = (7, 28)
SALES_ON_TIME = Lever(0.86, 0.94)
SALES_IN_FULL = Lever(0.95, 0.985)
PURCHASE_LINES_PER_DAY = (2, 4)
PURCHASE_ON_TIME = Lever(0.82, 0.92)
PURCHASE_SHORT = 0.05  # share of receipts short of the ordered quantity
INCOMING_REJECT_LOTS = Lever(0.08, 0.04)  # share of receipts with rejects (2-20 % of the lot)
SUPPLIERS = 8

# ISO 22400-2 additions. Attendance: the crew attends longer than it books on orders (meetings, training,
# waiting); the share booked (worker efficiency APWT / APAT) rises with digital dispatching.
WORKER_EFFICIENCY = Lever(0.85, 0.91)
WORKER_EFFICIENCY_SD = 0.02
WORKER_EFFICIENCY_RANGE = (0.75, 0.97)
PLANNED_SCRAP_RATE = Lever(0.015, 0.012)  # the plan's scrap allowance (PSQ / planned qty), tightened after go-live
# Machine capability studies: each machine once a quarter (its week and weekday fixed by its hash), 50
# consecutive parts 30 s apart from 10:00 in shift A. One machine spreads less than the whole process
# (no shift-to-shift or tool-change variation): Cmk about 1.6 before and 2.4 after go-live.
STUDY_INTERVAL_WEEKS = 13
STUDY_PARTS = 50
STUDY_PART_S = 30
STUDY_AFTER_S = 2 * 3600
MACHINE_SD_SHARE = 0.7
# Material balance per line and shift, in kg: a blank weighs BLANK_KG_PER_CNY x list price; machining takes
# CHIP_SHARE of it as chips; blanks damaged in storage and transport and count differences come on top.
BLANK_KG_PER_CNY = 0.02
CHIP_SHARE = Lever(0.21, 0.18)  # nearer-net-shape blanks after go-live
STORAGE_LOSS_SHARE = Lever(0.004, 0.002)
OTHER_LOSS_SHARE = Lever(0.002, 0.001)
# --- operations (WMS counts, picks and receipts; CRM complaints; forecast; maintenance cost; green power) ---
NCV_SD = 0.008  # day-to-day spread of the measured calorific value of pipeline gas around the contract value
COUNT_LINES_PER_DAY = (3, 6)  # cycle-count lines per warehouse and working day
COUNT_ACCURATE = Lever(0.93, 0.985)  # share of count lines within tolerance (RF scanning, fixed bins after go-live)
COUNT_TOLERANCE_PCT = {"RM": 2.0, "FG": 0.0}  # bulk raw material counted by weight; finished goods by piece
RM_PICKS_PER_DAY = (8, 16)  # material requests to the lines per plant and working day
PICK_ERROR = Lever(0.012, 0.003)  # share of pick lines with an error (pick-to-light and scanning after go-live)
PICK_ERROR_CODES = ("wrong_item", "wrong_qty", "wrong_lot", "damaged")
PICK_ERROR_WEIGHTS = (0.35, 0.4, 0.15, 0.1)
DOCK_TO_STOCK_H = Lever(22.0, 7.0)  # median hours from dock to put-away (inspection queue shrinks)
DOCK_TO_STOCK_SIGMA = 0.5
COMPLAINT_PER_LINE = Lever(0.03, 0.012)  # complaints per delivered order line
COMPLAINT_LATE_FACTOR = 2.5  # late lines draw more complaints
COMPLAINT_DELAY_DAYS = (2, 30)  # received this long after the delivery
COMPLAINT_REJECTED = 0.15  # found unfounded after investigation
CUSTOMERS = 12
FORECAST_SD = Lever(0.35, 0.15)  # log-error of the frozen monthly forecast per product
FORECAST_BIAS = Lever(0.08, 0.02)  # optimism of the sales plan
FORECAST_FROZEN_DAY = 20  # frozen on this day of the month before
MAINTENANCE_RATE_CNY_H = 150.0  # technician hour, two technicians per work order
SPARE_PARTS_MEDIAN_CNY = {"corrective": 300.0, "preventive": 400.0}
SPARE_PARTS_SIGMA = {"corrective": 1.0, "preventive": 0.5}
EXTERNAL_SERVICE = (0.03, 8_000.0, 30_000.0)  # share of repairs needing the vendor, amount range
PV_KWP = {"before": 150.0, "added": 500.0}  # rooftop PV per plant: canteen roof, then the workshop roofs
PV_ADDED_MONTHS_AFTER_GO_LIVE = (2, 5)  # first plant, second plant
PV_SUN_H = (1.3, 1.6, 2.4, 3.2, 3.6, 3.6, 4.6, 4.8, 3.3, 2.2, 1.6, 1.2)  # Chongqing daily peak-sun hours by month
PV_PERFORMANCE_RATIO = 0.78
GREEN_CONTRACT_MWH = 50.0  # monthly 绿电交易 volume per plant from 6 months after go-live
GREEN_CERTIFICATES = 30  # 绿证 cancelled per plant and month from 9 months after go-live
