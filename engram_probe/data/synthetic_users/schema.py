"""Key orders of the reference user schema: attributes, facts, indirect-question schemas, user."""

from __future__ import annotations

# fmt: off
ATTR_KEYS: tuple[str, ...] = (
    "uid", "first_name", "last_name", "full_name", "birth_year", "city", "timezone", "job", "employer",
    "workdays", "work_start", "commute_min", "pet_species", "pet_name", "car_desc", "car_year",
    "hobby1", "hobby2", "cuisine", "allergy", "spouse_name", "spouse_year", "child_name", "child_year",
    "sibling_name", "sibling_year", "activity", "activity_days", "rent", "emergency_contact",
    "ec_phone_last", "phone_model", "doctor", "dentist", "coffee", "running_pace", "shoe_size", "color",
)

FACT_KEYS: tuple[str, ...] = (
    "name", "birth_year", "city", "timezone", "job", "employer", "workdays", "work_start",
    "commute_min", "pet", "car", "car_year", "hobby1", "hobby2", "cuisine", "allergy", "spouse_name",
    "spouse_year", "child_name", "child_year", "sibling_name", "sibling_year", "activity",
    "activity_days", "rent", "emergency_contact", "ec_phone_last", "phone_model", "doctor", "dentist",
    "coffee", "running_pace", "shoe_size", "color",
)

INDIRECT_SCHEMAS: tuple[str, ...] = ("AGE", "COMPARE", "DAY_SET", "ROUTINE", "ALLERGY", "COMMUTE", "POLICY", "MULTI")

USER_KEYS: tuple[str, ...] = ("uid", "attrs", "facts", "direct_qa", "indirect_qa")
# fmt: on
