//! Lookup tables hooks can read: CSV (keyed by the first column) or JSON
//! (an object keyed by its keys, or an array of objects keyed by their
//! `key`, `id` or `number` field). Tables are read when the policy loads; hooks see them through
//! `lookup(table, key)`, which returns the row or `()`, and `has(table, key)`.

use rhai::Dynamic;
use std::collections::HashMap;
use std::path::Path;

/// One table: rows by key.
#[derive(Clone, Debug, Default)]
pub struct Table {
    rows: HashMap<String, Dynamic>,
}

impl Table {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// A tenant's tables, by name.
#[derive(Clone, Debug, Default)]
pub struct Tables {
    tables: HashMap<String, Table>,
}

impl Tables {
    pub fn insert(&mut self, name: String, table: Table) {
        self.tables.insert(name, table);
    }

    /// A copy of the row under `key`, if the table and row exist.
    pub fn lookup(&self, table: &str, key: &str) -> Option<Dynamic> {
        self.tables.get(table)?.rows.get(key).cloned()
    }
}

/// The most rows a table may have.
pub const MAX_ROWS: usize = 100_000;

/// Reads a table from its file's name and text; the error says what is
/// wrong, in words for the policy's author.
pub fn parse_table(name: &str, text: &str) -> Result<Table, String> {
    let table = match Path::new(name).extension().and_then(|e| e.to_str()) {
        Some("csv") => csv_table(text)?,
        Some("json") => json_table(text)?,
        _ => return Err("tables are .csv or .json files".into()),
    };
    if table.rows.len() > MAX_ROWS {
        return Err(format!(
            "it has {} rows; a table has at most {MAX_ROWS}",
            table.rows.len()
        ));
    }
    Ok(table)
}

fn csv_table(text: &str) -> Result<Table, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("its header row is unreadable: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    if headers.is_empty() || headers[0].is_empty() {
        return Err("its first row must name the columns".into());
    }
    let mut rows = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("row {} is unreadable: {e}", i + 2))?;
        let mut row = rhai::Map::new();
        for (column, value) in headers.iter().zip(record.iter()) {
            row.insert(column.as_str().into(), Dynamic::from(value.to_string()));
        }
        let key = record.get(0).unwrap_or_default().to_string();
        rows.insert(key, Dynamic::from_map(row));
    }
    Ok(Table { rows })
}

fn json_table(text: &str) -> Result<Table, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("it is not valid JSON: {e}"))?;
    let to_dynamic = |v: &serde_json::Value| rhai::serde::to_dynamic(v).map_err(|e| e.to_string());
    let mut rows = HashMap::new();
    match &value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                rows.insert(key.clone(), to_dynamic(v)?);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                // Rows are keyed by their `key`, `id` or `number` field.
                let key = item
                    .as_object()
                    .and_then(|o| ["key", "id", "number"].iter().find_map(|k| o.get(*k)))
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .ok_or_else(|| {
                        format!("item {} has no `key`, `id` or `number` field", i + 1)
                    })?;
                rows.insert(key, to_dynamic(item)?);
            }
        }
        _ => return Err("a JSON table is an object or an array of objects".into()),
    }
    Ok(Table { rows })
}
