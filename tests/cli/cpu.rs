//! `baton cpu`: tasks, run and check on tiny programs.

use crate::support::{baton, temp_dir, write_file};

const P03_GOOD: &str = "; isolate the rightmost 1 bit\nneg r1, r0\nand r0, r0, r1\n";
const P03_WRONG: &str = "dec r1, r0\nand r0, r0, r1\n";

#[test]
fn tasks_lists_the_builtin_ladder_and_the_sorts() {
    let out = baton(["cpu", "tasks"]);
    out.assert_success();
    for name in ["p01", "p13", "p25", "sort3", "sort5"] {
        assert!(out.stdout.lines().any(|l| l.starts_with(name)), "`{name}` missing:\n{out:?}");
    }
}

#[test]
fn a_good_program_passes_the_check() {
    let tmp = temp_dir();
    let prog = write_file(tmp.path(), "good.s", P03_GOOD.as_bytes());
    let out = baton(["cpu".as_ref(), "check".as_ref(), prog.as_os_str(), "--task".as_ref(), "p03".as_ref()]);
    out.assert_success();
    assert!(out.stdout.contains("p03: PASS on all 256 inputs"), "{out:?}");
    assert!(out.stdout.contains("reference mean 2.00"), "{out:?}");
}

#[test]
fn a_wrong_program_prints_a_counterexample_and_exits_1() {
    let tmp = temp_dir();
    let prog = write_file(tmp.path(), "wrong.s", P03_WRONG.as_bytes());
    let out = baton(["cpu".as_ref(), "check".as_ref(), prog.as_os_str(), "--task".as_ref(), "p03".as_ref()]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("FAIL on 255 of all 256 inputs"), "{out:?}");
    assert!(out.stdout.contains("first counterexample: inputs 1 (0x01): expected 1 (0x01), got 0 (0x00)"), "{out:?}");
}

#[test]
fn a_bad_file_prints_the_line_and_the_reason() {
    let tmp = temp_dir();
    let prog = write_file(tmp.path(), "bad.s", b"neg r1, r0\nand r0, r9, r1\n");
    let out = baton(["cpu".as_ref(), "check".as_ref(), prog.as_os_str(), "--task".as_ref(), "p03".as_ref()]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(out.stderr.contains("bad.s"), "{out:?}");
    assert!(out.stderr.contains("line 2: bad register `r9`"), "{out:?}");
    let prog = write_file(tmp.path(), "bad2.s", b"frob r1, r0\n");
    let out = baton(["cpu".as_ref(), "run".as_ref(), prog.as_os_str(), "--task".as_ref(), "p03".as_ref()]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("line 1: unknown mnemonic `frob`"), "{out:?}");
}

#[test]
fn run_on_given_inputs_and_on_the_visible_examples() {
    let tmp = temp_dir();
    let prog = write_file(tmp.path(), "avg.s", b"and r2, r0, r1\nxor r3, r0, r1\nshr r3, r3, 1\nadd r0, r2, r3\n");
    let args = |extra: &[&str]| {
        let mut a = vec!["cpu".to_string(), "run".into(), prog.display().to_string(), "--task".into(), "p14".into()];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let out = baton(args(&["--input", "200,0x64"]));
    out.assert_success();
    assert!(out.stdout.contains("inputs 200 (0xc8), 100 (0x64) -> 150 (0x96) in 4 cycles"), "{out:?}");
    assert!(out.stdout.contains("ok"), "{out:?}");
    let out = baton(args(&[]));
    out.assert_success();
    assert_eq!(out.stdout.matches("in 4 cycles").count(), 8, "eight visible examples:\n{out:?}");
    assert!(!out.stdout.contains("WRONG"), "{out:?}");
    let out = baton(args(&["--input", "1"]));
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("takes 2 input(s), got 1"), "{out:?}");
}

#[test]
fn an_unknown_task_is_an_error_listing_the_known_ones() {
    let tmp = temp_dir();
    let prog = write_file(tmp.path(), "good.s", P03_GOOD.as_bytes());
    let out = baton(["cpu".as_ref(), "check".as_ref(), prog.as_os_str(), "--task".as_ref(), "p99".as_ref()]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("no task `p99`") && out.stderr.contains("sort5"), "{out:?}");
}

#[test]
fn a_user_task_file_is_used_and_validated() {
    let tmp = temp_dir();
    let tasks = write_file(
        tmp.path(),
        "mine.toml",
        b"[[task]]\nname = \"triple\"\ndescription = \"3x\"\narity = 1\nreference = \"add r1, r0, r0\\nadd r0, r0, r1\"\n",
    );
    let prog = write_file(tmp.path(), "mul.s", b"ldi r1, 3\nmul r0, r0, r1\n");
    let out = baton([
        "cpu".as_ref(),
        "check".as_ref(),
        prog.as_os_str(),
        "--task".as_ref(),
        "triple".as_ref(),
        "--tasks".as_ref(),
        tasks.as_os_str(),
    ]);
    out.assert_success();
    assert!(out.stdout.contains("mean 4.00") && out.stdout.contains("reference mean 2.00"), "{out:?}");
    let bad = write_file(
        tmp.path(),
        "bad.toml",
        b"[[task]]\nname = \"t\"\ndescription = \"\"\narity = 9\nreference = \"\"\n",
    );
    let out = baton(["cpu".as_ref(), "tasks".as_ref(), "--tasks".as_ref(), bad.as_os_str()]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("bad.toml") && out.stderr.contains("`t`") && out.stderr.contains("`arity`"), "{out:?}");
}
