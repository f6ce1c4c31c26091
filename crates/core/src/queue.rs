//! The staff queue, pure: every case placed by what it waits for, what waits on the
//! agency first (overdue, at risk, questions, certificate checks, replies that did not
//! arrive, the agency's own steps), then what waits on applicants, then the closed;
//! filtered and searched the way the console asks, a page at a time. The console and
//! its bench call [`queue`] on the cases the store holds.

use time::OffsetDateTime;

use crate::case::clock::{Owed, Promise, Response, Standing};
use crate::case::{Case, Party, Step};
use crate::language::Language;
use crate::procedure::{Catalogue, Procedure};

/// Lines on a page.
pub const PAGE_LINES: usize = 50;

/// What staff asked to see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// A service's code (`mnotify`, `mpass`, …).
    pub service: Option<String>,
    /// The next step told, by its code.
    pub step: Option<String>,
    /// The institution: its mail domain, or a part of it.
    pub institution: Option<String>,
    /// Address, domain, serial, thumbprint or case token (with or without `#`).
    pub search: Option<String>,
    /// From 1.
    pub page: usize,
}

/// What a case waits for, most urgent first (the order of the queue's bands).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Waiting {
    /// On the agency, past the promised time.
    Overdue,
    /// On the agency, near the promised time.
    AtRisk,
    /// On the agency: an answer to the applicant's question.
    Answer,
    /// On the agency: a staff check of a certificate.
    Check,
    /// Our last message did not arrive: reach the applicant another way.
    Unreachable,
    /// On the agency: one of its steps (test access, production, completion).
    AgencyStep,
    /// On the applicant.
    Applicant,
    /// Completed, or merged into another case.
    Closed,
}

impl Waiting {
    pub fn code(self) -> &'static str {
        match self {
            Waiting::Overdue => "overdue",
            Waiting::AtRisk => "at_risk",
            Waiting::Answer => "answer",
            Waiting::Check => "certificate_check",
            Waiting::Unreachable => "unreachable",
            Waiting::AgencyStep => "agency_step",
            Waiting::Applicant => "applicant",
            Waiting::Closed => "closed",
        }
    }

    /// Whether the agency must act.
    pub fn on_agency(self) -> bool {
        self < Waiting::Applicant
    }
    /// What a line waits for, in words, for staff in `language`.
    pub fn words(self, language: Language) -> &'static str {
        let (ro, en, ru) = match self {
            Waiting::Overdue => ("TERMEN DEPĂȘIT", "OVERDUE", "ПРОСРОЧЕНО"),
            Waiting::AtRisk => ("termen aproape", "at risk", "срок на исходе"),
            Waiting::Answer => (
                "AGE: un răspuns la întrebare",
                "agency: an answer",
                "AGE: ответ на вопрос",
            ),
            Waiting::Check => (
                "AGE: verificarea certificatului",
                "agency: a certificate check",
                "AGE: проверка сертификата",
            ),
            Waiting::Unreachable => (
                "AGE: mesajul nu a ajuns",
                "agency: reply did not arrive",
                "AGE: письмо не дошло",
            ),
            Waiting::AgencyStep => (
                "AGE: pasul agenției",
                "agency: its step",
                "AGE: шаг агентства",
            ),
            Waiting::Applicant => ("solicitantul", "the applicant", "заявителя"),
            Waiting::Closed => ("închis", "closed", "закрыто"),
        };
        language.pick(ro, en, ru)
    }
}

/// One case as the queue shows it.
#[derive(Debug, Clone)]
pub struct Line<'a> {
    pub case: &'a Case,
    pub procedure: &'a Procedure,
    pub waiting: Waiting,
    /// The step the applicant was told is next (`None` once completed).
    pub next_told: Option<Step>,
    pub response: Option<Response>,
}

/// A page of the queue.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    pub lines: Vec<Line<'a>>,
    /// Cases that matched, on all pages.
    pub matched: usize,
    /// Of them, waiting on the agency.
    pub on_agency: usize,
    pub page: usize,
    pub pages: usize,
}

/// Where a case stands.
pub fn place<'a>(
    case: &'a Case,
    procedure: &'a Procedure,
    promise: &Promise,
    now: OffsetDateTime,
) -> Line<'a> {
    let response = case.response(procedure, promise, now);
    let waiting = match (case.waiting_on(procedure), &response) {
        (None, _) => Waiting::Closed,
        (Some(_), Some(r)) if r.standing == Standing::Overdue => Waiting::Overdue,
        (Some(_), Some(r)) if r.standing == Standing::AtRisk => Waiting::AtRisk,
        (Some(Party::Age), _) if case.question.is_some() => Waiting::Answer,
        (Some(Party::Age), _) if case.certificate_check.is_some() => Waiting::Check,
        _ if case.unreachable => Waiting::Unreachable,
        (Some(Party::Age), Some(r)) if r.owed == Owed::Answer => Waiting::Answer,
        (Some(Party::Age), _) => Waiting::AgencyStep,
        (Some(Party::Applicant), _) => Waiting::Applicant,
    };
    Line {
        case,
        procedure,
        waiting,
        next_told: case.next_step_told(procedure),
        response,
    }
}

/// The page of the queue `query` asks for, from every case kept.
pub fn queue<'a>(
    cases: &'a [Case],
    catalogue: &'a Catalogue,
    promise: &Promise,
    query: &Query,
    now: OffsetDateTime,
) -> Page<'a> {
    let search = query.search.as_deref().map(Needle::new);
    let mut lines: Vec<Line<'a>> = cases
        .iter()
        .filter(|c| query.service.as_deref().is_none_or(|s| s == c.service))
        .filter(|c| {
            query
                .institution
                .as_deref()
                .is_none_or(|i| domain_of(&c.applicant).contains(&i.to_ascii_lowercase()))
        })
        .filter(|c| search.as_ref().is_none_or(|n| n.finds(c)))
        .map(|c| place(c, catalogue.procedure_of(&c.service), promise, now))
        .filter(|l| {
            query
                .step
                .as_deref()
                .is_none_or(|s| l.next_told.is_some_and(|t| t.code() == s))
        })
        .collect();
    sort(&mut lines);
    let matched = lines.len();
    let on_agency = lines.iter().filter(|l| l.waiting.on_agency()).count();
    let pages = matched.div_ceil(PAGE_LINES).max(1);
    let page = query.page.clamp(1, pages);
    let lines = lines
        .into_iter()
        .skip((page - 1) * PAGE_LINES)
        .take(PAGE_LINES)
        .collect();
    Page {
        lines,
        matched,
        on_agency,
        page,
        pages,
    }
}

fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map_or(address, |(_, d)| d)
        .to_ascii_lowercase()
}

/// A search term, in the forms it is compared in.
struct Needle {
    lower: String,
    /// As a serial or thumbprint: hex digits only, lower case.
    hex: Option<String>,
}

impl Needle {
    fn new(text: &str) -> Needle {
        let lower = text.trim().trim_start_matches('#').to_lowercase();
        let hex: String = lower
            .chars()
            .filter(|c| !matches!(c, ':' | ' ' | '-'))
            .collect();
        // Leading zeros do not count; a number of zeros alone is the number 0.
        let hex = (hex.len() >= 4 && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| {
            let digits = hex.trim_start_matches('0');
            if digits.is_empty() { "0" } else { digits }.to_string()
        });
        Needle { lower, hex }
    }

    fn finds(&self, case: &Case) -> bool {
        if self.lower.is_empty() {
            return true;
        }
        let text = |s: &str| s.to_lowercase().contains(&self.lower);
        if case.token.to_lowercase() == self.lower
            || text(&case.applicant)
            || case.members.iter().any(|m| text(m))
            || case.system().is_some_and(text)
        {
            return true;
        }
        let Some(hex) = &self.hex else { return false };
        let canonical = |s: &str| {
            s.chars()
                .filter(|c| c.is_ascii_hexdigit())
                .collect::<String>()
                .to_lowercase()
        };
        case.certificates.iter().any(|c| {
            canonical(&c.serial)
                .trim_start_matches('0')
                .contains(hex.as_str())
                || c.sha1
                    .as_deref()
                    .is_some_and(|t| canonical(t).contains(hex.as_str()))
        })
    }
}

/// Most urgent band first; within the agency's bands the least time left first,
/// within the applicants' the longest waiting first, the closed newest first.
pub fn sort(lines: &mut [Line<'_>]) {
    lines.sort_by(|a, b| {
        a.waiting.cmp(&b.waiting).then_with(|| {
            let left = |l: &Line| l.response.as_ref().map_or(f64::MAX, |r| r.left);
            match a.waiting {
                Waiting::Closed => b.case.updated_at.cmp(&a.case.updated_at),
                Waiting::Applicant => a.case.updated_at.cmp(&b.case.updated_at),
                _ => left(a)
                    .total_cmp(&left(b))
                    .then_with(|| a.case.updated_at.cmp(&b.case.updated_at)),
            }
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::for_tests::complete_request;
    use crate::case::Question;
    use crate::intake::Language;
    use time::macros::datetime;

    fn promise() -> Promise {
        Promise::default()
    }

    fn open(token: &str, applicant: &str, at: OffsetDateTime) -> Case {
        Case::open(token.into(), applicant, Language::Ro, at)
    }

    #[test]
    fn the_agency_s_work_comes_first_and_questions_say_so() {
        let now = datetime!(2026-12-02 10:00 UTC);
        let waiting_on_applicant = open("AAAA0001", "ion@primaria.md", now);
        let mut asked = open("AAAA0002", "ana@scoala.md", now);
        asked.question = Some(Question::asked("Cât durează?", now));
        let mut merged = open("AAAA0003", "ana@scoala.md", now);
        merged.merged_into = Some("AAAA0002".into());
        let agency_step = complete_request("AAAA0004", now);
        let cases = vec![waiting_on_applicant, merged, asked, agency_step];
        let page = queue(
            &cases,
            Catalogue::built_in(),
            &promise(),
            &Query::default(),
            now,
        );
        let order: Vec<(&str, Waiting)> = page
            .lines
            .iter()
            .map(|l| (l.case.token.as_str(), l.waiting))
            .collect();
        assert_eq!(order[0], ("AAAA0002", Waiting::Answer));
        assert_eq!(order[1], ("AAAA0004", Waiting::AgencyStep));
        assert_eq!(order[2], ("AAAA0001", Waiting::Applicant));
        assert_eq!(order[3], ("AAAA0003", Waiting::Closed));
        assert_eq!(page.on_agency, 2);
    }

    #[test]
    fn a_question_past_the_promise_is_overdue() {
        let asked_at = datetime!(2026-11-02 10:00 UTC);
        let mut asked = open("AAAA0002", "ana@scoala.md", asked_at);
        asked.question = Some(Question::asked("?", asked_at));
        asked.clocks.push(crate::case::clock::ResponseClock {
            owed: Owed::Answer,
            periods: vec![crate::case::clock::Period {
                from: asked_at,
                to: None,
            }],
        });
        let p = Catalogue::built_in().mnotify();
        let line = place(&asked, p, &promise(), datetime!(2026-12-02 10:00 UTC));
        assert_eq!(line.waiting, Waiting::Overdue);
    }

    #[test]
    fn search_finds_by_token_address_domain_and_serial() {
        let now = datetime!(2026-12-02 10:00 UTC);
        let mut c = open("BCDE2345", "ion@primaria-ialoveni.md", now);
        c.certificates
            .push(crate::case::certificates::CaseCertificate {
                serial: "0a1b2c3d4e".into(),
                sha1: Some("aa".repeat(20)),
                environment: None,
                at: now,
            });
        let cases = vec![c, open("ZZZZ9999", "other@x.md", now)];
        let find = |s: &str| {
            let q = Query {
                search: Some(s.into()),
                ..Query::default()
            };
            queue(&cases, Catalogue::built_in(), &promise(), &q, now)
                .lines
                .iter()
                .map(|l| l.case.token.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(find("#bcde2345"), ["BCDE2345"]);
        assert_eq!(find("ION@primaria"), ["BCDE2345"]);
        assert_eq!(find("ialoveni.md"), ["BCDE2345"]);
        assert_eq!(find("0A:1B:2C:3D"), ["BCDE2345"]);
        assert_eq!(find(&"AA".repeat(20)), ["BCDE2345"]);
        assert!(find("nobody-here").is_empty());
        assert!(
            find("0000").is_empty(),
            "a run of zeros is not every serial"
        );
    }

    #[test]
    fn pages_hold_fifty_lines_and_a_page_past_the_end_is_the_last() {
        let now = datetime!(2026-12-02 10:00 UTC);
        let cases: Vec<Case> = (0..120)
            .map(|i| open(&format!("C{i:07}"), &format!("a{i}@b.md"), now))
            .collect();
        let q = |page| Query {
            page,
            ..Query::default()
        };
        let first = queue(&cases, Catalogue::built_in(), &promise(), &q(1), now);
        assert_eq!(
            (first.lines.len(), first.pages, first.matched),
            (50, 3, 120)
        );
        let last = queue(&cases, Catalogue::built_in(), &promise(), &q(9), now);
        assert_eq!((last.page, last.lines.len()), (3, 20));
    }
}
