//! Per-run configuration of the catalog: rule selection (`--select`,
//! `--ignore`, by id or prefix, as linters do), parameter overrides
//! (`--set RULE.param=value`) and an optional TOML config file holding the
//! same settings, so a team can keep its audit profile under version control
//! without editing the catalog.

use std::collections::BTreeMap;
use std::path::Path;

use toml_edit::{ImDocument, Item, Value as TomlValue};

use super::expr::Ty;
use super::rule::{ParamValue, Rule};
use super::Overrides;

/// Settings from a config file (`--config FILE`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    /// `legacy` or `strict`.
    pub autopilot_policy: Option<String>,
    /// `RULE.param=value` settings, in file order.
    pub set: Vec<String>,
}

fn strings(item: &Item, key: &str, file: &str) -> Result<Vec<String>, String> {
    item.as_array()
        .map(|a| {
            a.iter()
                .filter_map(TomlValue::as_str)
                .map(str::to_string)
                .collect()
        })
        .ok_or_else(|| format!("{file}: `{key}` must be an array of strings"))
}

impl Config {
    /// Reads a config file:
    ///
    /// ```toml
    /// select = ["DAP", "AZ001"]
    /// ignore = ["AP003"]
    /// autopilot_policy = "strict"
    /// [parameters.DAP004]
    /// stale_after_days = 60
    /// ```
    pub fn load(path: &Path) -> Result<Config, String> {
        let file = path.display().to_string();
        let src = crate::input_file::read_to_string(path)
            .map_err(|e| format!("cannot read config {file}: {e}"))?;
        let doc = ImDocument::parse(src.as_str()).map_err(|e| {
            let message = e.message().trim().replace('\n', ", ");
            let at = e.span().map_or(0, |s| s.start);
            format!("{}: invalid TOML: {message}", at_offset(&file, &src, at))
        })?;
        let root = doc.as_table();
        let mut c = Config::default();
        for (k, item) in root.iter() {
            // Errors name the line and column of the setting's key.
            let key_at = root.key(k).and_then(|k| k.span()).map_or(0, |s| s.start);
            let file = at_offset(&file, &src, key_at);
            match k {
                "select" => c.select = strings(item, k, &file)?,
                "ignore" => c.ignore = strings(item, k, &file)?,
                "autopilot_policy" => {
                    c.autopilot_policy = Some(item.as_str().ok_or_else(|| format!("{file}: `autopilot_policy` must be a string"))?.to_string());
                }
                "parameters" => {
                    let t = item.as_table_like().ok_or_else(|| format!("{file}: `parameters` must be a table of rule tables"))?;
                    for (rule, params) in t.iter() {
                        let p = params
                            .as_table_like()
                            .ok_or_else(|| format!("{file}: `parameters.{rule}` must be a table"))?;
                        for (name, v) in p.iter() {
                            let value = v
                                .as_value()
                                .and_then(|v| match v {
                                    TomlValue::String(s) => Some(s.value().clone()),
                                    TomlValue::Integer(i) => Some(i.value().to_string()),
                                    TomlValue::Boolean(b) => Some(b.value().to_string()),
                                    _ => None,
                                })
                                .ok_or_else(|| format!("{file}: `parameters.{rule}.{name}` must be a string, integer or boolean"))?;
                            c.set.push(format!("{rule}.{name}={value}"));
                        }
                    }
                }
                other => {
                    return Err(format!(
                        "{file}: unknown setting `{other}` (expected select, ignore, autopilot_policy or [parameters.RULE])"
                    ))
                }
            }
        }
        Ok(c)
    }
}

/// `file:line:column` of a byte offset in `src` (1-based).
fn at_offset(file: &str, src: &str, offset: usize) -> String {
    let mut end = offset.min(src.len());
    while !src.is_char_boundary(end) {
        end -= 1;
    }
    let before = &src[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{file}:{line}:{column}")
}

/// True when `pat` is `id` or a prefix of it, case-insensitive.
fn matches(pat: &str, id: &str) -> bool {
    id.len() >= pat.len() && id[..pat.len()].eq_ignore_ascii_case(pat)
}

/// Checks that every pattern of `patterns` matches some rule; the error
/// names `what` (`--select`, or where a config file says it) and the id or
/// prefix the pattern most likely means.
pub fn check_patterns(rules: &[Rule], patterns: &[String], what: &str) -> Result<(), String> {
    for pat in patterns {
        if pat.is_empty() || !rules.iter().any(|r| matches(pat, &r.id)) {
            let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
            return Err(format!(
                "{what} `{pat}` matches no rule{} (rules: {})",
                did_you_mean(pat, rules, true),
                ids.join(", ")
            ));
        }
    }
    Ok(())
}

/// Enables exactly the rules matched by `select` (all when empty) and not by
/// `ignore`; a pattern is a rule id or an id prefix, case-insensitive. A rule
/// whose file says `enabled = false` stays disabled unless selected by its
/// full id. A pattern matching no rule is an error (a typo would otherwise
/// silently audit less).
pub fn apply_selection(
    rules: &mut [Rule],
    select: &[String],
    ignore: &[String],
) -> Result<(), String> {
    check_patterns(rules, select, "--select")?;
    check_patterns(rules, ignore, "--ignore")?;
    for r in rules.iter_mut() {
        let explicitly = select.iter().any(|p| p.eq_ignore_ascii_case(&r.id));
        let selected = select.is_empty() && r.enabled
            || explicitly
            || (r.enabled && select.iter().any(|p| matches(p, &r.id)));
        r.enabled = selected && !ignore.iter().any(|p| matches(p, &r.id));
    }
    Ok(())
}

/// The rule id `input` most likely means: the same id in another case
/// first, else the closest by edit distance (transposed, missing or extra
/// characters) when close enough. With `prefixes`, the id families (`DAP`,
/// `AZ`, ...) are candidates too, as `--select` accepts them.
pub fn closest_rule_id<'r>(input: &str, rules: &'r [Rule], prefixes: bool) -> Option<&'r str> {
    let input = input.trim();
    let ids = rules.iter().map(|r| r.id.as_str());
    let families = rules.iter().filter(|_| prefixes).map(|r| {
        let letters =
            r.id.find(|c: char| c.is_ascii_digit())
                .unwrap_or(r.id.len());
        &r.id[..letters]
    });
    let candidates: Vec<&str> = ids.chain(families).collect();
    if let Some(exact) = candidates.iter().find(|c| c.eq_ignore_ascii_case(input)) {
        return Some(exact);
    }
    let upper = input.to_ascii_uppercase();
    candidates
        .iter()
        .map(|c| (strsim::normalized_damerau_levenshtein(&upper, c), *c))
        .filter(|(score, _)| *score >= 0.6)
        // Ties go to the id that sorts first, so the suggestion is stable.
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

/// `; did you mean `X`?` for an unknown rule id or pattern, or nothing.
pub fn did_you_mean(input: &str, rules: &[Rule], prefixes: bool) -> String {
    closest_rule_id(input, rules, prefixes)
        .filter(|c| *c != input)
        .map_or_else(String::new, |c| format!("; did you mean `{c}`?"))
}

/// Parses `RULE.param=value` settings against the catalog: the rule and
/// the parameter must exist and the value must have the parameter's type.
pub fn parse_overrides(rules: &[Rule], settings: &[String]) -> Result<Overrides, String> {
    let mut out: Overrides = BTreeMap::new();
    for s in settings {
        let (lhs, value) = s.split_once('=').ok_or_else(|| {
            format!(
                "invalid --set `{s}` (expected RULE.param=value, e.g. DAP004.stale_after_days=60)"
            )
        })?;
        let (rule_id, param) = lhs
            .trim()
            .split_once('.')
            .ok_or_else(|| format!("invalid --set `{s}` (expected RULE.param=value)"))?;
        let rule = rules
            .iter()
            .find(|r| r.id.eq_ignore_ascii_case(rule_id))
            .ok_or_else(|| {
                format!(
                    "--set `{s}`: unknown rule `{rule_id}`{}",
                    did_you_mean(rule_id, rules, false)
                )
            })?;
        let p = rule
            .params
            .iter()
            .find(|p| p.name == param)
            .ok_or_else(|| {
                let names: Vec<&str> = rule.params.iter().map(|p| p.name.as_str()).collect();
                if names.is_empty() {
                    format!("--set `{s}`: rule {} has no parameters", rule.id)
                } else {
                    format!(
                        "--set `{s}`: rule {} has no parameter `{param}` (parameters: {})",
                        rule.id,
                        names.join(", ")
                    )
                }
            })?;
        let value = value.trim();
        let v = match p.ty {
            Ty::Int => ParamValue::Int(
                value
                    .parse()
                    .map_err(|_| format!("--set `{s}`: `{value}` is not an integer"))?,
            ),
            Ty::Bool => ParamValue::Bool(
                value
                    .parse()
                    .map_err(|_| format!("--set `{s}`: `{value}` is not true or false"))?,
            ),
            _ => ParamValue::Str(value.to_string()),
        };
        out.entry(rule.id.clone())
            .or_default()
            .insert(param.to_string(), v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rule::load_catalog;

    fn catalog() -> Vec<Rule> {
        load_catalog(None, true).expect("catalog")
    }

    #[test]
    fn selection_by_id_and_prefix() {
        let mut rules = catalog();
        apply_selection(&mut rules, &["dap".into()], &["DAP002".into()]).expect("valid");
        let on: Vec<&str> = rules
            .iter()
            .filter(|r| r.enabled)
            .map(|r| r.id.as_str())
            .collect();
        assert!(
            on.contains(&"DAP001") && !on.contains(&"DAP002") && !on.contains(&"AZ001"),
            "{on:?}"
        );
        let err = apply_selection(&mut catalog(), &["XYZ".into()], &[]).expect_err("typo");
        assert!(err.starts_with("--select `XYZ` matches no rule ("), "{err}");
    }

    #[test]
    fn unknown_rule_ids_get_a_suggestion() {
        let rules = catalog();
        // The same id in another case first, then the nearest by edit distance.
        assert_eq!(closest_rule_id("dap001", &rules, false), Some("DAP001"));
        assert_eq!(closest_rule_id("DAP01", &rules, false), Some("DAP001"));
        assert_eq!(closest_rule_id("DPA002", &rules, false), Some("DAP002"));
        assert_eq!(closest_rule_id("gdap0001", &rules, false), Some("GDAP001"));
        assert_eq!(closest_rule_id("DPA", &rules, true), Some("DAP"));
        assert_eq!(closest_rule_id("DPA", &rules, false), None);
        assert_eq!(closest_rule_id("WXYZ", &rules, true), None);
        let err = apply_selection(&mut catalog(), &[], &["AZ01".into()]).expect_err("typo");
        assert!(
            err.starts_with("--ignore `AZ01` matches no rule; did you mean `AZ001`? (rules: "),
            "{err}"
        );
        assert!(
            parse_overrides(&rules, &["DAP04.stale_after_days=1".into()])
                .expect_err("rule")
                .ends_with("unknown rule `DAP04`; did you mean `DAP004`?")
        );
    }

    #[test]
    fn overrides_are_typed() {
        let mut rules = catalog();
        rules[0].params.push(crate::engine::rule::Param {
            name: "days".into(),
            ty: Ty::Int,
            value: ParamValue::Int(1),
            doc: String::new(),
        });
        let id = rules[0].id.clone();
        let o = parse_overrides(&rules, &[format!("{id}.days=7")]).expect("valid");
        assert_eq!(o[&id]["days"], ParamValue::Int(7));
        assert!(parse_overrides(&rules, &[format!("{id}.days=soon")])
            .expect_err("type")
            .contains("not an integer"));
        assert!(parse_overrides(&rules, &[format!("{id}.nope=1")])
            .expect_err("param")
            .contains("no parameter `nope`"));
        assert!(parse_overrides(&rules, &["NOPE9.x=1".into()])
            .expect_err("rule")
            .contains("unknown rule `NOPE9`"));
    }
}
