#!/usr/bin/python3
"""Independent reader for the template and annotate tests (issue 5 "Done when").

Reads an .xlsx with openpyxl (Debian python3-openpyxl, not excelize) and prints JSON describing
what the Go tests assert: sheets and their state, freeze panes, cells (value, number format,
fill colour, bold, comment, hyperlink), column-dimension number formats, data validations, and
the active sheet. Usage: xlsx_probe.py FILE [MAX_ROWS]
"""
import json
import sys
import warnings

import openpyxl


def colour(cell):
    fill = cell.fill
    if fill is None or fill.fill_type in (None, "none"):
        return None
    fg = fill.fgColor
    if fg is None or fg.type != "rgb":
        return None
    return fg.rgb


def main():
    path = sys.argv[1]
    max_rows = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    warnings.simplefilter("ignore")
    wb = openpyxl.load_workbook(path)  # full load: comments, styles, validations
    out = {"sheets": [], "active": wb.active.title if wb.active is not None else None}
    for ws in wb.worksheets:
        s = {
            "name": ws.title,
            "state": ws.sheet_state,
            "freeze": ws.freeze_panes,
            "max_row": ws.max_row,
            "max_column": ws.max_column,
            "cells": {},
            "columns": {},
            "validations": [],
            "print_area": ",".join(ws.print_area) if isinstance(ws.print_area, (list, tuple)) else ws.print_area,
            "print_title_rows": ws.print_title_rows,
            "fit_to_page": bool(ws.sheet_properties.pageSetUpPr and ws.sheet_properties.pageSetUpPr.fitToPage),
            "fit_to_width": ws.page_setup.fitToWidth,
            "fit_to_height": ws.page_setup.fitToHeight,
            "orientation": ws.page_setup.orientation,
        }
        for letter, dim in ws.column_dimensions.items():
            s["columns"][letter] = {"min": dim.min, "max": dim.max, "number_format": dim.number_format, "width": dim.width}
        for dv in ws.data_validations.dataValidation:
            s["validations"].append({
                "type": dv.type,
                "sqref": str(dv.sqref),
                "formula1": dv.formula1,
                "formula2": dv.formula2,
                "operator": dv.operator,
                "prompt_title": dv.promptTitle,
                "prompt": dv.prompt,
                "show_input": bool(dv.showInputMessage),
                "error_style": dv.errorStyle,
            })
        for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, max_rows)):
            for c in row:
                if c.value is None and c.comment is None and c.hyperlink is None and colour(c) is None:
                    continue
                v = c.value
                if hasattr(v, "isoformat"):
                    v = v.isoformat()
                d = {"value": v, "number_format": c.number_format, "bold": bool(c.font and c.font.b)}
                fc = colour(c)
                if fc:
                    d["fill"] = fc
                if c.comment is not None:
                    d["comment"] = c.comment.text
                    d["comment_author"] = c.comment.author
                if c.hyperlink is not None:
                    d["link_location"] = c.hyperlink.location
                    d["link_target"] = c.hyperlink.target
                s["cells"][c.coordinate] = d
        out["sheets"].append(s)
    json.dump(out, sys.stdout, ensure_ascii=False, default=str)


if __name__ == "__main__":
    main()
