//! The rule query language: a small, typed expression language compiled once
//! per rule and evaluated per fact row.
//!
//! ```text
//! expr    := or
//! or      := and (("||" | "or") and)*
//! and     := unary (("&&" | "and") unary)*
//! unary   := ("!" | "not") unary | compare
//! compare := primary (("==" | "!=" | "<" | "<=" | ">" | ">=") primary | "in" list)?
//! primary := literal | field | "params." name | func "(" args ")" | "(" expr ")"
//! ```
//! Types are checked when the rule loads: an unknown field, a comparison of
//! incompatible types or a non-boolean `where` is a load error with a
//! position, never a run-time surprise. String equality ignores ASCII case
//! (role and state names are case-insensitive in exports); `null` compares
//! equal only to `null`; ordering against `null` is false.
//!
//! Size is bounded when the rule loads: at most [`MAX_TOKENS`] tokens and
//! [`MAX_DEPTH`] levels of nesting (parentheses, `!`, function arguments).
//! `&&` and `||` chains compile to one n-ary node, so the compiled tree is
//! never deeper than a small multiple of [`MAX_DEPTH`] and evaluation (which
//! recurses over the tree) stays shallow whatever the rule file holds.

use std::fmt;

use jiff::Timestamp;

use crate::snapshot::Guid;

/// Most tokens a `where` expression may hold.
pub const MAX_TOKENS: usize = 10_000;
/// Deepest nesting of parentheses, `!` and function arguments in an expression.
pub const MAX_DEPTH: usize = 64;

/// The type of a fact field, parameter or expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Bool,
    Int,
    Str,
    Id,
    Date,
    /// A list of ids (e.g. principals).
    Ids,
    /// A literal list of strings or ints (right side of `in`).
    List,
    Null,
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ty::Bool => "bool",
            Ty::Int => "int",
            Ty::Str => "string",
            Ty::Id => "id",
            Ty::Date => "date",
            Ty::Ids => "id list",
            Ty::List => "list",
            Ty::Null => "null",
        })
    }
}

/// A runtime value borrowed from the facts.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Str(&'a str),
    Owned(String),
    Id(Guid),
    Date(Timestamp),
    Ids(&'a [Guid]),
}

impl Value<'_> {
    fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Owned(s) => Some(s),
            _ => None,
        }
    }
    /// True only for `Bool(true)`.
    pub fn truthy(&self) -> bool {
        matches!(self, Value::Bool(true))
    }
}

impl Value<'_> {
    /// Appends the value's text ([`fmt::Display`]) to `out`, without the
    /// formatting machinery for the common kinds.
    pub fn write_to(&self, out: &mut String) {
        match self {
            Value::Str(s) => out.push_str(s),
            Value::Owned(s) => out.push_str(s),
            Value::Id(g) => {
                let buf = g.encode();
                out.extend(buf.iter().map(|&b| char::from(b)));
            }
            other => {
                use fmt::Write as _;
                let _ = write!(out, "{other}");
            }
        }
    }
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("none"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => f.write_str(s),
            Value::Owned(s) => f.write_str(s),
            Value::Id(g) => write!(f, "{g}"),
            Value::Date(t) => f.write_str(&crate::snapshot::fields::date_text(*t)),
            Value::Ids(ids) => {
                for (i, g) in ids.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{g}")?;
                }
                Ok(())
            }
        }
    }
}

/// A compile error at a byte offset of the expression text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError {
    pub offset: usize,
    pub message: String,
    pub help: Option<String>,
}

/// What an expression may refer to: the fact table's fields and the rule's parameters.
pub trait Scope {
    /// Field index and type of a fact field.
    fn field(&self, name: &str) -> Option<(usize, Ty)>;
    /// Every field name, for did-you-mean.
    fn field_names(&self) -> Vec<&str>;
    /// Parameter index and type.
    fn param(&self, name: &str) -> Option<(usize, Ty)>;
    /// Every parameter name.
    fn param_names(&self) -> Vec<&str>;
}

/// What evaluation reads: a row's fields, the rule's parameter values and the as-of time.
pub trait Env<'a> {
    fn field(&self, idx: usize) -> Value<'a>;
    fn param(&self, idx: usize) -> Value<'a>;
    fn as_of(&self) -> Timestamp;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Func {
    DaysSince,
    DaysUntil,
    Size,
    IsNull,
}

#[derive(Clone, Debug)]
enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Id(Guid),
}

/// A compiled expression.
#[derive(Clone, Debug)]
pub enum Expr {
    Lit(LitBox),
    Field(usize),
    Param(usize),
    Not(Box<Expr>),
    /// True when every operand is (a chain `a && b && c`, evaluated left to right).
    And(Vec<Expr>),
    /// True when any operand is.
    Or(Vec<Expr>),
    Cmp(CmpBox),
    In(Box<Expr>, Vec<LitBox>),
    Call(FuncBox, Box<Expr>),
}

/// Opaque literal (kept private to the module).
#[derive(Clone, Debug)]
pub struct LitBox(Lit);
/// Opaque comparison node.
#[derive(Clone, Debug)]
pub struct CmpBox(Cmp, Box<Expr>, Box<Expr>);
/// Opaque function tag.
#[derive(Clone, Copy, Debug)]
pub struct FuncBox(Func);

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Op(&'static str),
    LParen,
    RParen,
    LBrack,
    RBrack,
    Comma,
    Dot,
    End,
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, ExprError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if out.len() == MAX_TOKENS {
            return Err(ExprError {
                offset: start,
                message: format!("the expression has more than {MAX_TOKENS} tokens"),
                help: Some("split the condition over several rules".into()),
            });
        }
        // Bytes, not `&str`: the next character may be multi-byte.
        let two = b.get(i..i + 2).unwrap_or_default();
        let op2 = ["==", "!=", "<=", ">=", "&&", "||"]
            .into_iter()
            .find(|o| o.as_bytes() == two);
        if let Some(o) = op2 {
            out.push((start, Tok::Op(o)));
            i += 2;
            continue;
        }
        let tok = match c {
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b'[' => Tok::LBrack,
            b']' => Tok::RBrack,
            b',' => Tok::Comma,
            b'.' => Tok::Dot,
            b'<' => Tok::Op("<"),
            b'>' => Tok::Op(">"),
            b'!' => Tok::Op("!"),
            b'"' | b'\'' => {
                let q = c;
                let mut j = i + 1;
                while j < b.len() && b[j] != q {
                    j += 1;
                }
                if j >= b.len() {
                    return Err(ExprError {
                        offset: start,
                        message: "unterminated string literal".into(),
                        help: None,
                    });
                }
                let s = src[i + 1..j].to_string();
                i = j + 1;
                out.push((start, Tok::Str(s)));
                continue;
            }
            b'0'..=b'9' | b'-' => {
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                let text = &src[i..j];
                let v = text.parse::<i64>().map_err(|_| ExprError {
                    offset: start,
                    message: format!("invalid number `{text}`"),
                    help: None,
                })?;
                i = j;
                out.push((start, Tok::Int(v)));
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                let w = &src[i..j];
                i = j;
                let t = match w {
                    "and" => Tok::Op("&&"),
                    "or" => Tok::Op("||"),
                    "not" => Tok::Op("!"),
                    "in" => Tok::Op("in"),
                    _ => Tok::Ident(w.to_string()),
                };
                out.push((start, t));
                continue;
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(ExprError {
                    offset: start,
                    message: format!("unexpected character `{ch}`"),
                    help: None,
                });
            }
        };
        out.push((start, tok));
        i += 1;
    }
    out.push((src.len(), Tok::End));
    Ok(out)
}

struct Parser<'s, S: Scope> {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    scope: &'s S,
    /// Current nesting of parentheses, `!` and function arguments.
    depth: usize,
}

fn did_you_mean<'a>(name: &str, options: impl IntoIterator<Item = &'a str>) -> Option<String> {
    options
        .into_iter()
        .map(|o| (strsim::jaro_winkler(name, o), o))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, o)| format!("did you mean `{o}`?"))
}

impl<S: Scope> Parser<'_, S> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].1
    }
    fn offset(&self) -> usize {
        self.toks[self.pos].0
    }
    fn bump(&mut self) -> Tok {
        let t = self.toks[self.pos].1.clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    fn err<T>(&self, offset: usize, message: String) -> Result<T, ExprError> {
        Err(ExprError {
            offset,
            message,
            help: None,
        })
    }
    fn expect(&mut self, t: &Tok, what: &str) -> Result<(), ExprError> {
        if self.peek() == t {
            self.bump();
            Ok(())
        } else {
            self.err(self.offset(), format!("expected {what}"))
        }
    }

    /// Enters one level of nesting at `at`; [`Parser::leave`] undoes it.
    fn enter(&mut self, at: usize) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError {
                offset: at,
                message: format!("the expression is nested more than {MAX_DEPTH} levels deep"),
                help: Some("remove redundant parentheses or `!`".into()),
            });
        }
        Ok(())
    }
    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn or(&mut self) -> Result<(Expr, Ty), ExprError> {
        let (first, lt) = self.and()?;
        let mut terms = vec![first];
        while self.peek() == &Tok::Op("||") {
            let at = self.offset();
            self.bump();
            let (r, rt) = self.and()?;
            self.want_bool(lt, at, "||")?;
            self.want_bool(rt, at, "||")?;
            terms.push(r);
        }
        Ok(match terms.len() {
            1 => (terms.remove(0), lt),
            _ => (Expr::Or(terms), Ty::Bool),
        })
    }
    fn and(&mut self) -> Result<(Expr, Ty), ExprError> {
        let (first, lt) = self.unary()?;
        let mut terms = vec![first];
        while self.peek() == &Tok::Op("&&") {
            let at = self.offset();
            self.bump();
            let (r, rt) = self.unary()?;
            self.want_bool(lt, at, "&&")?;
            self.want_bool(rt, at, "&&")?;
            terms.push(r);
        }
        Ok(match terms.len() {
            1 => (terms.remove(0), lt),
            _ => (Expr::And(terms), Ty::Bool),
        })
    }
    fn want_bool(&self, t: Ty, at: usize, op: &str) -> Result<(), ExprError> {
        if t == Ty::Bool {
            Ok(())
        } else {
            self.err(at, format!("`{op}` needs bool operands, found {t}"))
        }
    }
    fn unary(&mut self) -> Result<(Expr, Ty), ExprError> {
        if self.peek() == &Tok::Op("!") {
            let at = self.offset();
            self.enter(at)?;
            self.bump();
            let (e, t) = self.unary()?;
            self.leave();
            self.want_bool(t, at, "!")?;
            return Ok((Expr::Not(Box::new(e)), Ty::Bool));
        }
        self.compare()
    }
    fn compare(&mut self) -> Result<(Expr, Ty), ExprError> {
        let (l, lt) = self.primary()?;
        let at = self.offset();
        let op = match self.peek() {
            Tok::Op("==") => Cmp::Eq,
            Tok::Op("!=") => Cmp::Ne,
            Tok::Op("<") => Cmp::Lt,
            Tok::Op("<=") => Cmp::Le,
            Tok::Op(">") => Cmp::Gt,
            Tok::Op(">=") => Cmp::Ge,
            Tok::Op("in") => {
                self.bump();
                return self.in_list(l, lt, at);
            }
            _ => return Ok((l, lt)),
        };
        self.bump();
        let (mut r, rt) = self.primary()?;
        let mut l = l;
        // An id compared with a string literal: the literal must be a GUID.
        for (side, other) in [(&mut r, lt), (&mut l, rt)] {
            if other == Ty::Id {
                if let Expr::Lit(LitBox(Lit::Str(s))) = side {
                    let g = Guid::parse(s).ok_or(ExprError {
                        offset: at,
                        message: format!("`{s}` is not a GUID, but is compared with an id"),
                        help: None,
                    })?;
                    *side = Expr::Lit(LitBox(Lit::Id(g)));
                }
            }
        }
        let compatible = lt == rt
            || lt == Ty::Null
            || rt == Ty::Null
            || matches!((lt, rt), (Ty::Id, Ty::Str) | (Ty::Str, Ty::Id));
        if !compatible {
            return self.err(at, format!("cannot compare {lt} with {rt}"));
        }
        if matches!(op, Cmp::Lt | Cmp::Le | Cmp::Gt | Cmp::Ge) && !matches!(lt, Ty::Int | Ty::Date)
        {
            return self.err(
                at,
                format!("ordering needs int or date operands, found {lt}"),
            );
        }
        Ok((Expr::Cmp(CmpBox(op, Box::new(l), Box::new(r))), Ty::Bool))
    }
    fn in_list(&mut self, l: Expr, lt: Ty, at: usize) -> Result<(Expr, Ty), ExprError> {
        if !matches!(lt, Ty::Str | Ty::Int | Ty::Id) {
            return self.err(
                at,
                format!("`in` needs a string, int or id on the left, found {lt}"),
            );
        }
        self.expect(&Tok::LBrack, "`[` after `in`")?;
        let mut items = Vec::new();
        while self.peek() != &Tok::RBrack {
            let off = self.offset();
            let lit = match (self.bump(), lt) {
                (Tok::Str(s), Ty::Str) => Lit::Str(s),
                (Tok::Str(s), Ty::Id) => Lit::Id(Guid::parse(&s).ok_or(ExprError {
                    offset: off,
                    message: format!("`{s}` is not a GUID"),
                    help: None,
                })?),
                (Tok::Int(i), Ty::Int) => Lit::Int(i),
                _ => return self.err(off, format!("list items must be {lt} literals")),
            };
            items.push(LitBox(lit));
            if self.peek() == &Tok::Comma {
                self.bump();
            } else if self.peek() != &Tok::RBrack {
                return self.err(self.offset(), "expected `,` or `]`".into());
            }
        }
        self.bump();
        Ok((Expr::In(Box::new(l), items), Ty::Bool))
    }
    fn primary(&mut self) -> Result<(Expr, Ty), ExprError> {
        let at = self.offset();
        match self.bump() {
            Tok::Str(s) => Ok((Expr::Lit(LitBox(Lit::Str(s))), Ty::Str)),
            Tok::Int(i) => Ok((Expr::Lit(LitBox(Lit::Int(i))), Ty::Int)),
            Tok::LParen => {
                self.enter(at)?;
                let e = self.or()?;
                self.expect(&Tok::RParen, "`)`")?;
                self.leave();
                Ok(e)
            }
            Tok::Ident(w) => match w.as_str() {
                "true" => Ok((Expr::Lit(LitBox(Lit::Bool(true))), Ty::Bool)),
                "false" => Ok((Expr::Lit(LitBox(Lit::Bool(false))), Ty::Bool)),
                "null" => Ok((Expr::Lit(LitBox(Lit::Null)), Ty::Null)),
                "params" => {
                    self.expect(&Tok::Dot, "`.` after `params`")?;
                    let off = self.offset();
                    let Tok::Ident(name) = self.bump() else {
                        return self.err(off, "expected a parameter name".into());
                    };
                    match self.scope.param(&name) {
                        Some((i, t)) => Ok((Expr::Param(i), t)),
                        None => Err(ExprError {
                            offset: off,
                            message: format!("unknown parameter `{name}`"),
                            help: did_you_mean(&name, self.scope.param_names())
                                .or_else(|| Some("declare it under [parameters]".into())),
                        }),
                    }
                }
                _ if self.peek() == &Tok::LParen => self.call(&w, at),
                _ => match self.scope.field(&w) {
                    Some((i, t)) => Ok((Expr::Field(i), t)),
                    None => Err(ExprError {
                        offset: at,
                        message: format!("unknown field `{w}`"),
                        help: did_you_mean(&w, self.scope.field_names()),
                    }),
                },
            },
            Tok::End => self.err(at, "unexpected end of expression".into()),
            t => self.err(at, format!("unexpected {t:?}")),
        }
    }
    fn call(&mut self, name: &str, at: usize) -> Result<(Expr, Ty), ExprError> {
        let (f, arg_ty, ret) = match name {
            "days_since" => (Func::DaysSince, Some(Ty::Date), Ty::Int),
            "days_until" => (Func::DaysUntil, Some(Ty::Date), Ty::Int),
            "size" => (Func::Size, Some(Ty::Ids), Ty::Int),
            "is_null" => (Func::IsNull, None, Ty::Bool),
            _ => {
                return Err(ExprError {
                    offset: at,
                    message: format!("unknown function `{name}`"),
                    help: did_you_mean(name, ["days_since", "days_until", "size", "is_null"]),
                })
            }
        };
        self.enter(self.offset())?;
        self.expect(&Tok::LParen, "`(`")?;
        let (arg, t) = self.or()?;
        self.expect(&Tok::RParen, "`)`")?;
        self.leave();
        if let Some(want) = arg_ty {
            if t != want {
                return self.err(at, format!("`{name}` takes a {want}, found {t}"));
            }
        }
        Ok((Expr::Call(FuncBox(f), Box::new(arg)), ret))
    }
}

/// Compiles `src` against `scope`; the result must have type `want`.
pub fn compile<S: Scope>(src: &str, scope: &S, want: Ty) -> Result<Expr, ExprError> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        scope,
        depth: 0,
    };
    let (e, t) = p.or()?;
    if p.peek() != &Tok::End {
        return p.err(p.offset(), "unexpected text after the expression".into());
    }
    if t != want {
        return p.err(0, format!("the expression has type {t}, expected {want}"));
    }
    Ok(e)
}

fn lit_value(l: &Lit) -> Value<'_> {
    match l {
        Lit::Null => Value::Null,
        Lit::Bool(b) => Value::Bool(*b),
        Lit::Int(i) => Value::Int(*i),
        Lit::Str(s) => Value::Str(s),
        Lit::Id(g) => Value::Id(*g),
    }
}

fn equal(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Id(x), y) | (y, Value::Id(x)) if y.as_str().is_some() => {
            y.as_str().and_then(Guid::parse) == Some(*x)
        }
        _ => match (a.as_str(), b.as_str()) {
            (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
            _ => a == b,
        },
    }
}

fn order(a: &Value<'_>, b: &Value<'_>) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn whole_days(from: Timestamp, to: Timestamp) -> i64 {
    (to.as_second() - from.as_second()).div_euclid(86_400)
}

impl Expr {
    /// Evaluates against a row.
    pub fn eval<'a, E: Env<'a>>(&'a self, env: &E) -> Value<'a> {
        match self {
            Expr::Lit(LitBox(l)) => lit_value(l),
            Expr::Field(i) => env.field(*i),
            Expr::Param(i) => env.param(*i),
            Expr::Not(e) => Value::Bool(!e.eval(env).truthy()),
            Expr::And(terms) => Value::Bool(terms.iter().all(|e| e.eval(env).truthy())),
            Expr::Or(terms) => Value::Bool(terms.iter().any(|e| e.eval(env).truthy())),
            Expr::Cmp(CmpBox(op, a, b)) => {
                let (x, y) = (a.eval(env), b.eval(env));
                Value::Bool(match op {
                    Cmp::Eq => equal(&x, &y),
                    Cmp::Ne => !equal(&x, &y),
                    Cmp::Lt => order(&x, &y) == Some(std::cmp::Ordering::Less),
                    Cmp::Le => matches!(order(&x, &y), Some(o) if o != std::cmp::Ordering::Greater),
                    Cmp::Gt => order(&x, &y) == Some(std::cmp::Ordering::Greater),
                    Cmp::Ge => matches!(order(&x, &y), Some(o) if o != std::cmp::Ordering::Less),
                })
            }
            Expr::In(e, items) => {
                let v = e.eval(env);
                Value::Bool(items.iter().any(|LitBox(l)| equal(&v, &lit_value(l))))
            }
            Expr::Call(FuncBox(f), arg) => {
                let v = arg.eval(env);
                match (f, v) {
                    (Func::IsNull, v) => Value::Bool(v == Value::Null),
                    (Func::DaysSince, Value::Date(t)) => Value::Int(whole_days(t, env.as_of())),
                    (Func::DaysUntil, Value::Date(t)) => Value::Int(whole_days(env.as_of(), t)),
                    (Func::Size, Value::Ids(ids)) => {
                        Value::Int(i64::try_from(ids.len()).unwrap_or(i64::MAX))
                    }
                    _ => Value::Null,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct S;
    impl Scope for S {
        fn field(&self, name: &str) -> Option<(usize, Ty)> {
            match name {
                "kind" => Some((0, Ty::Str)),
                "active" => Some((1, Ty::Bool)),
                "seen" => Some((2, Ty::Date)),
                "tenant" => Some((3, Ty::Id)),
                _ => None,
            }
        }
        fn field_names(&self) -> Vec<&str> {
            vec!["kind", "active", "seen", "tenant"]
        }
        fn param(&self, name: &str) -> Option<(usize, Ty)> {
            (name == "days").then_some((0, Ty::Int))
        }
        fn param_names(&self) -> Vec<&str> {
            vec!["days"]
        }
    }
    struct E(Option<Timestamp>);
    impl<'a> Env<'a> for E {
        fn field(&self, idx: usize) -> Value<'a> {
            match idx {
                0 => Value::Str("DAP"),
                1 => Value::Bool(true),
                2 => self.0.map_or(Value::Null, Value::Date),
                _ => Value::Id(Guid::from_u128(1)),
            }
        }
        fn param(&self, _: usize) -> Value<'a> {
            Value::Int(90)
        }
        fn as_of(&self) -> Timestamp {
            "2026-11-01T00:00:00Z".parse().expect("ts")
        }
    }

    fn run(src: &str, seen: Option<&str>) -> bool {
        let e = compile(src, &S, Ty::Bool).expect("compiles");
        e.eval(&E(seen.map(|s| s.parse().expect("ts")))).truthy()
    }

    #[test]
    fn evaluates_typed_expressions() {
        assert!(run(r#"kind == "dap" && active"#, None));
        assert!(run(r#"kind in ["gdap", "dap"] and not !active"#, None));
        assert!(run("is_null(seen) || days_since(seen) > params.days", None));
        assert!(run(
            "days_since(seen) > params.days",
            Some("2026-07-01T00:00:00Z")
        ));
        assert!(!run(
            "days_since(seen) > params.days",
            Some("2026-10-01T00:00:00Z")
        ));
        assert!(!run("days_since(seen) > params.days", None));
        assert!(run(
            r#"tenant == "00000000-0000-0000-0000-000000000001""#,
            None
        ));
    }

    #[test]
    fn reports_errors_with_offsets_and_suggestions() {
        let e = compile("kinf == \"dap\"", &S, Ty::Bool).expect_err("unknown field");
        assert_eq!(e.offset, 0);
        assert_eq!(e.message, "unknown field `kinf`");
        assert_eq!(e.help.as_deref(), Some("did you mean `kind`?"));
        let e = compile("active && kind", &S, Ty::Bool).expect_err("type");
        assert_eq!(e.message, "`&&` needs bool operands, found string");
        let e = compile("kind < 3", &S, Ty::Bool).expect_err("type");
        assert_eq!(e.message, "cannot compare string with int");
        let e = compile("params.dayz > 1", &S, Ty::Bool).expect_err("param");
        assert_eq!(e.help.as_deref(), Some("did you mean `days`?"));
        let e = compile("tenant == \"nope\"", &S, Ty::Bool).expect_err("guid");
        assert!(e.message.contains("not a GUID"));
        assert!(compile("kind", &S, Ty::Bool).is_err());
    }

    /// Validates that pathological nesting is a compile error with a position,
    /// never a stack overflow (issue #11, item 9).
    #[test]
    fn deep_nesting_is_a_compile_error() {
        let parens = format!("{}active{}", "(".repeat(1000), ")".repeat(1000));
        let e = compile(&parens, &S, Ty::Bool).expect_err("too deep");
        assert_eq!(
            e.message,
            "the expression is nested more than 64 levels deep"
        );
        assert_eq!(e.offset, 64, "the 65th `(`");
        let nots = format!("{}active", "!".repeat(1000));
        let e = compile(&nots, &S, Ty::Bool).expect_err("too deep");
        assert_eq!(e.offset, 64);
        let calls = format!("{}seen{}", "is_null(".repeat(100), ")".repeat(100));
        let e = compile(&calls, &S, Ty::Bool).expect_err("too deep");
        assert!(e.message.contains("nested more than 64"), "{}", e.message);
        // 64 levels are fine.
        let ok = format!("{}active{}", "(".repeat(64), ")".repeat(64));
        assert!(run(&ok, None));
        assert!(run(&format!("{}active", "!".repeat(64)), None));
    }

    /// Validates the size bound: the cases from issue #11 (10,000 nested
    /// parentheses, 100,000 `!`, 30,000 `&&` terms) are compile errors.
    #[test]
    fn oversized_expressions_are_compile_errors() {
        for src in [
            format!("{}active{}", "(".repeat(10_000), ")".repeat(10_000)),
            format!("{}active", "!".repeat(100_000)),
            vec!["active"; 30_000].join(" && "),
        ] {
            let e = compile(&src, &S, Ty::Bool).expect_err("too large");
            assert_eq!(e.message, "the expression has more than 10000 tokens");
            assert!(e.offset > 0 && e.offset < src.len());
        }
    }

    /// Validates that a long `&&` / `||` chain compiles to one flat node, so
    /// evaluating the largest accepted expression needs almost no stack.
    #[test]
    fn long_chains_are_flat() {
        let and = vec!["active"; 4_999].join(" && ");
        let e = compile(&and, &S, Ty::Bool).expect("compiles");
        assert!(matches!(&e, Expr::And(t) if t.len() == 4_999));
        let or = format!("{} || active", vec!["!active"; 3_000].join(" || "));
        let o = compile(&or, &S, Ty::Bool).expect("compiles");
        assert!(matches!(&o, Expr::Or(t) if t.len() == 3_001));
        let mixed = format!("{} && !active", vec!["kind == \"x\""; 2_000].join(" || "));
        let m = compile(&mixed, &S, Ty::Bool).expect("compiles");
        // 64 KiB of stack: a left-nested tree of thousands of nodes would overflow it.
        let got = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                let env = E(None);
                (
                    e.eval(&env).truthy(),
                    o.eval(&env).truthy(),
                    m.eval(&env).truthy(),
                )
            })
            .expect("spawn")
            .join()
            .expect("no overflow");
        assert_eq!(got, (true, true, false));
    }

    /// Validates that a multi-byte character after an operator position is a
    /// clean error, not a slice panic.
    #[test]
    fn multibyte_characters_are_errors_not_panics() {
        let e = compile("a€ && active", &S, Ty::Bool).expect_err("bad char");
        assert_eq!(e.message, "unexpected character `€`");
        assert_eq!(e.offset, 1);
    }
}
