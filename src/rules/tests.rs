use super::*;

fn group_rule(pattern: &str, targets: &[&str]) -> RuleConfig {
    RuleConfig {
        when: RuleMatch::Group(pattern.into()),
        domo_groups: targets.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn attr_rule(name: &str, equals: &str, targets: &[&str]) -> RuleConfig {
    RuleConfig {
        when: RuleMatch::Attribute {
            name: name.into(),
            equals: equals.into(),
        },
        domo_groups: targets.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn compile(rules: &[RuleConfig]) -> RuleSet {
    RuleSet::compile(rules).expect("rules compile")
}

/// The derived names only, for tests that do not look at provenance.
fn names(rules: &RuleSet, groups: &[&str], attributes: &[(&str, &str)]) -> Vec<String> {
    rules
        .evaluate(&set(groups), &attrs(attributes))
        .into_iter()
        .map(|d| d.domo_group)
        .collect()
}

fn problems(rules: &[RuleConfig]) -> Vec<String> {
    RuleSet::compile(rules).expect_err("rules are invalid")
}

#[test]
fn exact_group_rule_matches_the_group_ignoring_case() {
    let rules = compile(&[group_rule("Marketing", &["Domo Marketing"])]);
    assert_eq!(names(&rules, &["marketing"], &[]), ["Domo Marketing"]);
    assert_eq!(
        names(&rules, &["MARKETING", "Other"], &[]),
        ["Domo Marketing"]
    );
    assert!(names(&rules, &["Marketing-EU"], &[]).is_empty());
    assert!(names(&rules, &[], &[]).is_empty());
}

#[test]
fn glob_group_rule_matches_every_matching_group() {
    let rules = compile(&[group_rule("eng-*", &["Engineering", "Eng {group}"])]);
    // `{group}` keeps the IdP's spelling; "Engineering" is derived once for both groups.
    assert_eq!(
        names(&rules, &["eng-web", "ENG-data", "sales"], &[]),
        ["Eng ENG-data", "Eng eng-web", "Engineering"]
    );
    assert!(names(&rules, &["sales", "engineering"], &[]).is_empty());
}

#[test]
fn attribute_rule_compares_name_and_value_ignoring_case() {
    let rules = compile(&[attr_rule("Department", "sales", &["Sales"])]);
    assert_eq!(names(&rules, &[], &[("department", "SALES")]), ["Sales"]);
    assert_eq!(names(&rules, &[], &[("DEPARTMENT", " Sales ")]), ["Sales"]);
    assert!(names(&rules, &[], &[("department", "Sales Ops")]).is_empty());
    assert!(names(&rules, &[], &[("team", "Sales")]).is_empty());
}

#[test]
fn attribute_rule_value_may_be_a_glob_but_never_matches_a_blank_value() {
    let rules = compile(&[attr_rule("title", "*engineer*", &["Builders"])]);
    assert_eq!(
        names(&rules, &[], &[("title", "Senior Engineer II")]),
        ["Builders"]
    );
    assert!(names(&rules, &[], &[("title", "Manager")]).is_empty());
    let any = compile(&[attr_rule("location", "*", &["Located"])]);
    assert_eq!(names(&any, &[], &[("location", "Berlin")]), ["Located"]);
    assert!(names(&any, &[], &[("location", "   ")]).is_empty());
    assert!(names(&any, &[], &[]).is_empty());
}

#[test]
fn attribute_templates_take_the_users_value_and_skip_targets_without_one() {
    let rules = compile(&[attr_rule(
        "department",
        "Sales",
        &["Sales", "Sales {Location}", "{region}-{location}"],
    )]);
    assert_eq!(
        names(
            &rules,
            &[],
            &[("department", "Sales"), ("location", "Berlin")]
        ),
        ["Sales", "Sales Berlin"],
        "`{{region}}` has no value, so that target is skipped, not rendered with a blank"
    );
    assert_eq!(
        names(
            &rules,
            &[],
            &[
                ("department", "Sales"),
                ("location", "Berlin"),
                ("region", "EU")
            ]
        ),
        ["EU-Berlin", "Sales", "Sales Berlin"]
    );
    assert_eq!(
        names(&rules, &[], &[("department", "Sales"), ("location", " ")]),
        ["Sales"],
        "a blank value is no value"
    );
}

#[test]
fn group_templates_take_the_matched_group_and_attributes() {
    let rules = compile(&[group_rule("team-?", &["Team {group} ({site})"])]);
    assert_eq!(
        names(&rules, &["team-a", "team-bb"], &[("SITE", "Paris")]),
        ["Team team-a (Paris)"]
    );
    assert!(names(&rules, &["team-a"], &[]).is_empty());
}

#[test]
fn doubled_braces_are_literal_braces() {
    let rules = compile(&[group_rule("x", &["{{literal}} {{{dept}}}", "a}}b"])]);
    assert_eq!(
        names(&rules, &["x"], &[("dept", "Ops")]),
        ["a}b", "{literal} {Ops}"]
    );
    assert_eq!(rules.static_targets(), set(&["a}b"]));
}

#[test]
fn results_are_trimmed_and_empty_results_skipped() {
    let rules = compile(&[attr_rule("d", "*", &["  {prefix} Sales  ", "{d}"])]);
    assert_eq!(
        names(&rules, &[], &[("d", "x"), ("prefix", "EU")]),
        ["EU Sales", "x"]
    );
    let only_value = compile(&[group_rule("*", &["{group}"])]);
    assert_eq!(names(&only_value, &[" g "], &[]), ["g"]);
}

#[test]
fn duplicates_are_removed_ignoring_case_and_the_first_rule_is_the_provenance() {
    let rules = compile(&[
        group_rule("Marketing", &["Marketing"]),
        attr_rule("department", "Marketing", &["MARKETING", "Everyone"]),
        group_rule("*", &["everyone", "Zeta"]),
    ]);
    let got = rules.evaluate(&set(&["Marketing"]), &attrs(&[("department", "marketing")]));
    assert_eq!(
        got,
        vec![
            Derived {
                domo_group: "Everyone".into(),
                rule: 1
            },
            Derived {
                domo_group: "Marketing".into(),
                rule: 0
            },
            Derived {
                domo_group: "Zeta".into(),
                rule: 2
            },
        ]
    );
}

#[test]
fn static_targets_are_the_names_without_placeholders() {
    let rules = compile(&[
        group_rule("a", &["Alpha", " Beta ", "G {group}"]),
        attr_rule("d", "x", &["ALPHA", "{d}", "Gamma"]),
    ]);
    assert_eq!(rules.static_targets(), set(&["Alpha", "Beta", "Gamma"]));
    assert_eq!(rules.len(), 2);
    assert!(!rules.is_empty());
    let none = compile(&[]);
    assert!(none.is_empty());
    assert!(none.static_targets().is_empty());
    assert!(
        none.evaluate(&set(&["a"]), &attrs(&[("d", "x")]))
            .is_empty()
    );
}

#[test]
fn invalid_rules_report_every_problem_with_its_place_and_a_fix() {
    let got = problems(&[
        group_rule("Marketing", &["Marketing"]),
        group_rule("  ", &[]),
        attr_rule(" ", "", &["", "Sales {location"]),
        group_rule("CORP\\Sales", &["ok}", "{}", "{a{b}}"]),
        attr_rule("dept", "x", &["{group} team"]),
    ]);
    let expect = [
        ("rules[1].when.group is empty", "glob such as"),
        ("rules[1].domo_groups is empty", "at least one"),
        ("rules[2].when.attribute is empty", "e.g. `department`"),
        ("rules[2].when.equals is empty", "`*` for any value"),
        ("rules[2].domo_groups[0] is empty", "remove the entry"),
        (
            "rules[2].domo_groups[1] `Sales {location`",
            "unclosed `{` at character 7",
        ),
        (
            "rules[3].when.group `CORP\\Sales` is not a valid glob",
            "`\\\\`",
        ),
        (
            "rules[3].domo_groups[0] `ok}`",
            "write `}}` for a literal brace",
        ),
        ("rules[3].domo_groups[1] `{}`", "empty placeholder"),
        (
            "rules[3].domo_groups[2] `{a{b}}`",
            "placeholders do not nest",
        ),
        (
            "rules[4].domo_groups[0] `{group} team`",
            "only available in rules",
        ),
    ];
    assert_eq!(got.len(), expect.len(), "{got:#?}");
    for ((start, fix), problem) in expect.iter().zip(&got) {
        assert!(
            problem.starts_with(start) && problem.contains(fix),
            "expected `{start}` … `{fix}`, got `{problem}`"
        );
    }
}

#[test]
fn bad_globs_in_attribute_values_are_reported() {
    let got = problems(&[attr_rule("dept", "a\\b", &["X"])]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with("rules[0].when.equals `a\\b` is not a valid glob"),
        "{got:?}"
    );
}
