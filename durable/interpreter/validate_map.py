"""Static checks of the Distributed Map sub-objects: ItemReader, ItemBatcher, ResultWriter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .validate_fields import JP, Sink, at, index
from .validate_tables import (
    LANGUAGE_ONLY,
    MAX_BATCH_BYTES,
    MAX_READER_ITEMS,
    READER_CONFIG_FIELDS,
    READER_ENUMS,
    READER_RESOURCE,
)

__all__ = ["MapChecks"]


def _bounded_int(s: Sink, low: int, high: int | None) -> Callable[[object, str], object]:
    return lambda value, loc: s.integer(value, loc, low, high)


class MapChecks:
    """Mixed into the validator: needs its ``schema`` sink and ``literal_or_jsonata``."""

    schema: Sink

    def literal_or_jsonata(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    # --- Map sub-objects --------------------------------------------------------------------

    def item_reader(self, st: Any, value: object, loc: str) -> None:
        s = self.schema
        if not self.sub_object(st, value, loc, ("Resource", "Parameters", "Arguments", "ReaderConfig")):
            return
        assert isinstance(value, dict)
        s.check_required(value, ("Resource",), loc)
        if "Resource" in value and s.string(value["Resource"], at(loc, "Resource")):
            if not READER_RESOURCE.match(value["Resource"]):
                s.add("The field 'Resource' does not match any of the allowed values", at(loc, "Resource"))
        config = value.get("ReaderConfig")
        if config is None:
            return
        cloc = at(loc, "ReaderConfig")
        if not self.sub_object(st, config, cloc, READER_CONFIG_FIELDS):
            return
        assert isinstance(config, dict)
        for key, allowed in READER_ENUMS.items():
            if key in config:
                s.enum(config[key], allowed, at(cloc, key))
        if "CSVHeaders" in config:
            headers = config["CSVHeaders"]
            if not isinstance(headers, list):
                s.wrong_type(list, at(cloc, "CSVHeaders"))
            else:
                for j, header in enumerate(headers):
                    s.string(header, index(at(cloc, "CSVHeaders"), j))
        if "ItemsPointer" in config:
            s.string(config["ItemsPointer"], at(cloc, "ItemsPointer"))
        if "MaxItems" in config:
            self.literal_or_jsonata(
                st,
                config["MaxItems"],
                at(cloc, "MaxItems"),
                lambda v, where: s.integer(v, where, 0, MAX_READER_ITEMS),
            )
        if "MaxItemsPath" in config and st.language == JP:
            s.reference_path(config["MaxItemsPath"], at(cloc, "MaxItemsPath"), context=False)
        s.check_exclusive(config, ("MaxItems", "MaxItemsPath"), cloc)
        if config.get("InputType") == "CSV" and "CSVHeaderLocation" not in config:
            s.add("The field 'CSVHeaderLocation' is required", cloc)
        if config.get("CSVHeaderLocation") == "GIVEN" and "CSVHeaders" not in config:
            s.required(("CSVHeaders",), cloc)

    def item_batcher(self, st: Any, value: object, loc: str) -> None:
        s = self.schema
        fields = (
            "MaxItemsPerBatch",
            "MaxItemsPerBatchPath",
            "MaxInputBytesPerBatch",
            "MaxInputBytesPerBatchPath",
            "BatchInput",
        )
        if not self.sub_object(st, value, loc, fields):
            return
        assert isinstance(value, dict)
        for key, high in (("MaxItemsPerBatch", None), ("MaxInputBytesPerBatch", MAX_BATCH_BYTES)):
            if key in value:
                self.literal_or_jsonata(st, value[key], at(loc, key), _bounded_int(s, 0, high))
            if key + "Path" in value and st.language == JP:
                s.reference_path(value[key + "Path"], at(loc, key + "Path"), context=False)
            s.check_exclusive(value, (key, key + "Path"), loc)
        if "BatchInput" in value:
            if st.language == JP:
                s.template(value["BatchInput"], at(loc, "BatchInput"))
            else:
                s.jsonata_value(value["BatchInput"], at(loc, "BatchInput"))

    def result_writer(self, st: Any, value: object, loc: str) -> None:
        s = self.schema
        if not self.sub_object(st, value, loc, ("Resource", "Parameters", "Arguments", "WriterConfig")):
            return
        assert isinstance(value, dict)
        if "Resource" in value:
            s.string(value["Resource"], at(loc, "Resource"))
        config = value.get("WriterConfig")
        if config is not None and self.sub_object(
            st, config, at(loc, "WriterConfig"), ("OutputType", "Transformation")
        ):
            assert isinstance(config, dict)
            for key, allowed in (
                ("OutputType", ("JSON", "JSONL")),
                ("Transformation", ("NONE", "COMPACT", "FLATTEN")),
            ):
                if key in config:
                    s.enum(config[key], allowed, at(at(loc, "WriterConfig"), key))

    def sub_object(self, st: Any, value: object, loc: str, fields: tuple[str, ...]) -> bool:
        """Shape of a Map sub-object; also checks its ``Parameters``/``Arguments`` by query language."""
        s = self.schema
        if not isinstance(value, dict):
            s.wrong_type(dict, loc)
            return False
        for key in value:
            if key not in fields:
                s.unsupported(key, loc)
            elif LANGUAGE_ONLY.get(key, st.language) != st.language:
                s.query_language(key, st.language, loc)
            elif key == "Parameters":
                s.template(value[key], at(loc, key))
            elif key == "Arguments":
                s.jsonata_value(value[key], at(loc, key))
        return True


# --- tables of checks ---------------------------------------------------------------------------
