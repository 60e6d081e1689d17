//! Takes and returns every kind of WIT value so the host's value mapping can be tested end to end.

wit_bindgen::generate!({ world: "values", path: "wit" });

use exports::wippy_guests::values::kinds::{Color, DivError, Guest, Ints, Perms, Shape, User};

struct Values;

impl Guest for Values {
    fn echo_bool(v: bool) -> bool {
        v
    }
    fn echo_ints(v: Ints) -> Ints {
        v
    }
    fn echo_floats(a: f32, b: f64) -> (f32, f64) {
        (a, b)
    }
    fn echo_char(c: char) -> char {
        c
    }
    fn echo_list(v: Vec<u32>) -> Vec<u32> {
        v
    }
    fn echo_bytes(v: Vec<u8>) -> Vec<u8> {
        v
    }
    fn echo_option(v: Option<String>) -> Option<String> {
        v
    }
    fn echo_result(v: Result<u32, String>) -> Result<u32, String> {
        v
    }
    fn echo_empty_result(v: Result<(), ()>) -> Result<(), ()> {
        v
    }
    fn echo_variant(v: Shape) -> Shape {
        v
    }
    fn echo_enum(v: Color) -> Color {
        v
    }
    fn echo_flags(v: Perms) -> Perms {
        v
    }
    fn echo_tuple(v: (String, i64, bool)) -> (String, i64, bool) {
        v
    }
    fn echo_user(v: User) -> User {
        v
    }
    fn echo_users(v: Vec<User>) -> Vec<User> {
        v
    }

    fn area(v: Shape) -> f64 {
        match v {
            Shape::Circle(r) => std::f64::consts::PI * r * r,
            Shape::Rect((w, h)) => f64::from(w) * f64::from(h),
            Shape::Point => 0.0,
        }
    }

    fn describe(u: User) -> String {
        let colour = match u.favourite {
            Some(Color::Red) => "red",
            Some(Color::Green) => "green",
            Some(Color::Blue) => "blue",
            None => "no colour",
        };
        format!(
            "{} ({}) likes {} and has {} tags, can write: {}",
            u.name,
            u.age,
            colour,
            u.tags.len(),
            u.perms.contains(Perms::WRITE)
        )
    }

    fn count_chars(s: String) -> u32 {
        s.chars().count() as u32
    }

    fn divide(a: i32, b: i32) -> Result<i32, String> {
        a.checked_div(b)
            .ok_or_else(|| "division by zero".to_string())
    }

    fn try_divide(a: i32, b: i32) -> Result<i32, DivError> {
        a.checked_div(b).ok_or_else(|| DivError {
            code: 1,
            message: "division by zero".to_string(),
        })
    }

    fn nothing() {}

    fn crash(message: String) {
        panic!("{message}");
    }
}

export!(Values);
