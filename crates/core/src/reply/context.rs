//! What a reply template sees: the case's checklist and next step, the certificates
//! and numbers of the mail, the services, each in the reply's language.

use serde::Serialize;

use super::*;

/// What a reply template sees.
#[derive(Debug, Clone, Serialize)]
pub struct ReplyContext {
    /// A decision code, or `oversized`, `step_done`, `completed`, `reminder`,
    /// `unverified`, `which_service`.
    pub decision: String,
    pub problems: Vec<String>,
    /// Services a reused certificate is registered for.
    pub services: Vec<String>,
    /// The service the case is for (or the mail asked about).
    pub service: ServiceView,
    /// Every other service the mailbox serves (their tags), for "registered for
    /// another service".
    pub other_services: Vec<String>,
    /// Every service the mailbox serves, for the answer asking which one.
    pub all_services: Vec<ServiceView>,
    /// Other cases the same mail opened (a mail asking for two services): their
    /// service, token and next step, told in this reply (no other letter follows).
    pub also: Vec<AlsoView>,
    /// Services the mail names without asking for them (tags): no case was opened;
    /// the reply says how to ask.
    pub mentioned: Vec<String>,
    pub certificates: Vec<CertificateView>,
    pub numbers: Vec<NumberView>,
    pub token: String,
    pub checklist: Vec<ChecklistItem>,
    /// The step the applicant is told comes next ([`Case::next_step_told`]).
    pub next: Option<StepView>,
    /// Its code (the templates before procedures were data used it).
    pub next_step: Option<String>,
    /// The step staff just completed (`step_done`).
    pub done: Option<StepView>,
    /// The neutral answer: when our server received the mail it answers, and our
    /// reference for it (nothing the sender wrote).
    pub received_at: String,
    pub reference: String,
    pub limit_mb: u64,
    /// The step staff just completed (`step_done`), and its number 1–8.
    pub done_step: Option<String>,
    pub done_number: usize,
    /// Step 3 is done: no need to ask for a certificate again.
    pub certificate_done: bool,
    /// Integration data found in the mail, echoed back for confirmation.
    pub integration: Option<IntegrationView>,
    /// The number of the step integration data by mail completes (0: none does).
    pub integration_number: u32,
    /// What was accepted does not fit the sender's institution: staff check it first
    /// (the reply names no one).
    pub staff_check: bool,
    /// The case has a question open for a person: the reply says one will answer.
    pub question: bool,
    /// A follow-up in a case that brings nothing new: the reply says only what is
    /// still awaited, not the whole previous reply again.
    pub brief: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct IntegrationView {
    pub system_name: String,
    pub test: String,
    pub production: String,
    pub channels: String,
    /// Certificate serials named per environment, if any.
    pub test_certificates: String,
    pub production_certificates: String,
    /// `system_name`, `test_addresses`, `production_addresses`, `channels`.
    pub missing: Vec<&'static str>,
    pub problems: Vec<IntegrationProblemView>,
    pub complete: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct IntegrationProblemView {
    pub code: &'static str,
    pub value: String,
}

impl IntegrationView {
    pub fn of(d: &IntegrationData) -> IntegrationView {
        let join = |v: &[std::net::IpAddr]| {
            v.iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        IntegrationView {
            system_name: d.system_name.clone().unwrap_or_default(),
            test: join(&d.test_addresses),
            production: join(&d.production_addresses),
            channels: d.channels.join(", "),
            test_certificates: d.test_certificates.join(", "),
            production_certificates: d.production_certificates.join(", "),
            missing: d.missing(),
            problems: d
                .problems
                .iter()
                .map(|p| IntegrationProblemView {
                    code: p.code(),
                    value: p.value(),
                })
                .collect(),
            complete: d.is_complete(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CertificateView {
    pub subject: String,
    pub serial: String,
    pub sha1: String,
    pub not_after: String,
    /// `test` or `production`, when the applicant said (or the case records it).
    pub environment: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NumberView {
    pub as_written: String,
    pub value: String,
    pub kind: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChecklistItem {
    pub step: String,
    /// The number applicants read (the published procedure's).
    pub number: u32,
    pub text: Texts,
    pub done: bool,
    /// `applicant` or `age`.
    pub waiting_on: &'static str,
    /// What is true of it now: `done`; `yours` (waiting on the applicant); `yours_after`
    /// (the applicant's, once the steps in `after` are done); `agency` (the agency's,
    /// now); `agency_after` (the agency's, once the steps in `after` are done);
    /// `checking` (a certificate staff check before it counts).
    pub status: &'static str,
    /// The numbers of the steps it waits for.
    pub after: Vec<u32>,
    pub link: Option<String>,
}

/// A service, as replies name it.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceView {
    pub code: String,
    pub tag: String,
    pub name: Texts,
    pub description: Texts,
}

impl ServiceView {
    pub fn of(p: &Procedure) -> ServiceView {
        ServiceView {
            code: p.code.clone(),
            tag: p.tag.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
        }
    }
}

/// A step, as replies name it: its number, text, and how to do it.
#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub code: String,
    pub number: u32,
    pub text: Texts,
    /// The link applicants need for it (a form, the test environment).
    pub link: Option<String>,
    /// How to do it when no link does (who sends the contract, where to send the
    /// certificate).
    pub how: Option<Texts>,
    pub party: &'static str,
}

impl StepView {
    pub fn of(p: &Procedure, step: Step) -> StepView {
        let found = p.step(step.code());
        StepView {
            code: step.code().to_string(),
            number: p.number(step),
            text: found.map_or_else(|| same_in_all(step.code()), |s| s.text.clone()),
            link: p.link_for(step).map(str::to_string),
            how: found.and_then(|s| s.how.clone()),
            party: p.party(step).code(),
        }
    }
}

/// Another case the same mail opened or moved.
#[derive(Debug, Clone, Serialize)]
pub struct AlsoView {
    pub tag: String,
    pub token: String,
    /// What that case waits for next.
    pub next: Option<StepView>,
    /// The certificate steps this mail's certificate did there.
    pub done: Vec<StepView>,
}

fn same_in_all(text: &str) -> Texts {
    Texts {
        ro: text.to_string(),
        ru: text.to_string(),
        en: text.to_string(),
    }
}

/// What is true of each step of `case` now (see [`ChecklistItem::status`]).
pub fn checklist(case: &Case, procedure: &Procedure) -> Vec<ChecklistItem> {
    procedure
        .steps
        .iter()
        .map(|s| {
            let done = case.done.contains_key(&s.code);
            let mut missing: Vec<u32> = case
                .missing_before(procedure, s.code)
                .into_iter()
                .map(|m| procedure.number(m))
                .collect();
            // Two parts of one published step share its number.
            missing.dedup();
            // Whose the step is, as every staff view says it (Case::step_party).
            let party = case.step_party(procedure, s.code);
            let checking = case.step_under_check(procedure, s.code);
            let status = match (done, party, missing.is_empty()) {
                (true, _, _) => "done",
                _ if checking => "checking",
                (false, Party::Applicant, true) => "yours",
                (false, Party::Applicant, false) => "yours_after",
                (false, Party::Age, true) => "agency",
                (false, Party::Age, false) => "agency_after",
            };
            ChecklistItem {
                step: s.code.code().to_string(),
                number: s.number,
                text: s.text.clone(),
                done,
                waiting_on: party.code(),
                status,
                after: missing,
                link: procedure.link_of(s).map(str::to_string),
            }
        })
        .collect()
}

impl ReplyContext {
    /// The context for an analysed message in its case.
    pub fn for_analysis(a: &Analysis, case: &Case, catalogue: &Catalogue) -> ReplyContext {
        let mut ctx = ReplyContext::for_case(a.decision.into(), case, catalogue);
        ctx.problems = a.problems.iter().map(|p| p.code().to_string()).collect();
        let environment_of = |serial: &str| {
            case.certificates
                .iter()
                .rev()
                .find(|c| c.serial == serial)
                .and_then(|c| c.environment)
                .map(|e| e.code())
        };
        ctx.certificates = a
            .certificates
            .iter()
            .filter(|c| c.role != Role::Chain)
            .map(|c| CertificateView {
                subject: c.certificate.subject.clone(),
                serial: c.certificate.serial.clone(),
                sha1: c.certificate.sha1.clone(),
                not_after: c.certificate.not_after.date().to_string(),
                environment: environment_of(&c.certificate.serial),
            })
            .collect();
        ctx.numbers = a
            .numbers
            .iter()
            .filter(|n| !n.refers_to_attached)
            .map(|n| NumberView {
                as_written: n.number.as_written.clone(),
                value: n.value.clone(),
                kind: serde_json::to_value(n.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            })
            .collect();
        // Only for a certificate the sender attached: what a quoted number is registered
        // for is someone else's business until staff have checked it (no oracle).
        // The registry's free text, named as the procedures name the service.
        let mut services: Vec<String> = a
            .certificates
            .iter()
            .filter_map(|c| c.known.as_ref())
            .flat_map(|k| k.services.iter())
            .map(|s| {
                catalogue
                    .service_named(s)
                    .map_or_else(|| s.clone(), |p| p.tag.clone())
            })
            .collect();
        services.sort();
        services.dedup();
        ctx.services = services;
        // Echoed only where the service takes integration data by mail (MSign's
        // comes through a form).
        let takes_data = catalogue
            .procedure_of(&case.service)
            .integration_step()
            .is_some();
        if a.facts.integration.is_present() && takes_data {
            ctx.integration = Some(IntegrationView::of(&a.facts.integration));
        }
        ctx
    }

    /// Leaves out what the sender wrote (numbers as written, integration data) and what
    /// a certificate of theirs says of itself: a reply to a sender who is not
    /// authenticated may reach someone else, and must not carry a stranger's text.
    pub fn conceal_free_text(&mut self) {
        for n in &mut self.numbers {
            n.as_written = n.value.clone();
        }
        for c in &mut self.certificates {
            c.subject = "—".into();
        }
        self.integration = None;
    }

    /// A context for mail outside any case (no token, no checklist), about `service`.
    pub fn without_case(
        kind: ReplyKind,
        service: &Procedure,
        catalogue: &Catalogue,
    ) -> ReplyContext {
        ReplyContext {
            decision: kind.code().to_string(),
            problems: Vec::new(),
            services: Vec::new(),
            service: ServiceView::of(service),
            other_services: catalogue
                .iter()
                .filter(|p| p.code != service.code)
                .map(|p| p.tag.clone())
                .collect(),
            all_services: catalogue.iter().map(ServiceView::of).collect(),
            also: Vec::new(),
            mentioned: Vec::new(),
            brief: false,
            certificates: Vec::new(),
            numbers: Vec::new(),
            token: String::new(),
            checklist: Vec::new(),
            next: None,
            next_step: None,
            done: None,
            received_at: String::new(),
            reference: String::new(),
            limit_mb: 0,
            done_step: None,
            done_number: 0,
            certificate_done: false,
            integration: None,
            integration_number: service.integration_step().map_or(0, |s| service.number(s)),
            staff_check: false,
            question: false,
        }
    }

    /// The notice of what staff just did: `step_done` with the step, or `completed`
    /// for the final notice.
    pub fn for_staff_action(action: Action, case: &Case, catalogue: &Catalogue) -> ReplyContext {
        let procedure = catalogue.procedure_of(&case.service);
        match action {
            Action::TellStepDone(step) => ReplyContext {
                done: Some(StepView::of(procedure, step)),
                done_step: Some(step.code().to_string()),
                done_number: procedure.number(step) as usize,
                ..ReplyContext::for_case(ReplyKind::StepDone, case, catalogue)
            },
            Action::TellCompleted => ReplyContext::for_case(ReplyKind::Completed, case, catalogue),
            Action::TellReminder => ReplyContext::for_case(ReplyKind::Reminder, case, catalogue),
        }
    }

    /// A context with only the case filled in, in its service's procedure. One next
    /// step ([`Case::next_step_told`]): a reply that asks for the certificate names the
    /// certificate as the next step, whatever else is still open.
    pub fn for_case(kind: ReplyKind, case: &Case, catalogue: &Catalogue) -> ReplyContext {
        let procedure = catalogue.procedure_of(&case.service);
        let certificate_done = case.certificates_done(procedure);
        let next_step = match case.certificate_step_open(procedure) {
            Some(step) if kind.asks_for_certificate() => Some(step),
            _ => case.next_step_told(procedure),
        };
        ReplyContext {
            token: case.token.clone(),
            checklist: checklist(case, procedure),
            next: next_step.map(|s| StepView::of(procedure, s)),
            next_step: next_step.map(|s| s.code().to_string()),
            certificate_done,
            staff_check: case.certificate_check.is_some(),
            question: case.question.is_some(),
            ..ReplyContext::without_case(kind, procedure, catalogue)
        }
    }

    /// `{agency}` in the procedure's texts filled in, each language with the name it
    /// gives the agency.
    pub(super) fn with_agency(&self, agency: &Agency) -> ReplyContext {
        let fill = |t: &mut Texts| {
            for (text, name) in [
                (&mut t.ro, &agency.short_name),
                (&mut t.ru, &agency.short_name_ru),
                (&mut t.en, &agency.short_name),
            ] {
                if text.contains("{agency}") {
                    *text = text.replace("{agency}", name);
                }
            }
        };
        let mut ctx = self.clone();
        for item in &mut ctx.checklist {
            fill(&mut item.text);
        }
        let also_next = ctx.also.iter_mut().filter_map(|a| a.next.as_mut());
        for view in ctx
            .next
            .iter_mut()
            .chain(ctx.done.iter_mut())
            .chain(also_next)
        {
            fill(&mut view.text);
            if let Some(how) = &mut view.how {
                fill(how);
            }
        }
        ctx
    }
}
