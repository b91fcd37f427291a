// Package workbook reads the rows of a filimport workbook as a stream (SPEC 1.2): it picks the
// sheet, finds the header row among the first 10, maps header names to the column keys of
// layout v1 (with synonyms and the operator's extra mappings), and yields validate.Row values
// without ever holding the whole sheet in memory.
//
// Reading cells is behind the Source interface so that a faster reader can replace excelize's
// streaming Rows() for the common case; excelize stays the reference.
package workbook
