//! HTML helpers: escaping and the page frame. Every user-provided value goes through
//! `esc`. The CSS is inline and the pages load nothing from outside.

pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
*{box-sizing:border-box}
html,body{margin:0;padding:0}
body{font-family:"Lato","Helvetica Neue",Helvetica,Arial,system-ui,-apple-system,"Segoe UI",sans-serif;
  background:#f7f9fa;color:#232333;font-size:14px;line-height:1.5}
a{color:#0b5cff;text-decoration:none}a:hover{text-decoration:underline}
.top{background:#fff;border-bottom:1px solid #e4e4ed;height:64px;display:flex;align-items:center;padding:0 32px;gap:16px}
.logo{font-size:30px;font-weight:800;letter-spacing:-1.5px;color:#0b5cff;line-height:1}
.top .sim{font-size:11px;font-weight:700;letter-spacing:.08em;text-transform:uppercase;color:#6e7680;
  background:#f1f4f6;border:1px solid #e4e4ed;border-radius:4px;padding:2px 8px}
.top .right{margin-left:auto;color:#6e7680;font-size:13px;display:flex;gap:12px;align-items:center}
main{max-width:1040px;margin:0 auto;padding:40px 24px}
.center{display:flex;justify-content:center}
.card{background:#fff;border:1px solid #e4e4ed;border-radius:12px;box-shadow:0 2px 12px rgba(35,35,51,.06);padding:36px 40px}
.narrow{width:100%;max-width:480px}
h1{font-size:24px;font-weight:700;margin:0 0 8px}
h2{font-size:18px;font-weight:700;margin:0 0 16px}
.muted{color:#6e7680}
.small{font-size:12px}
.appicon{width:64px;height:64px;border-radius:14px;background:linear-gradient(135deg,#0b5cff,#4a8cff);color:#fff;
  display:flex;align-items:center;justify-content:center;font-size:28px;font-weight:700;margin:0 auto 16px}
.connect{display:flex;align-items:center;justify-content:center;gap:12px;margin-bottom:20px}
.connect .appicon{margin:0;width:56px;height:56px;font-size:24px}
.zoomicon{width:56px;height:56px;border-radius:14px;background:#0b5cff;display:flex;align-items:center;justify-content:center}
.zoomicon span{display:block;width:30px;height:20px;background:#fff;border-radius:5px;position:relative}
.zoomicon span:after{content:"";position:absolute;right:-9px;top:4px;border-left:9px solid #fff;border-top:6px solid transparent;border-bottom:6px solid transparent}
.dots{color:#b0b6bd;letter-spacing:3px;font-weight:700}
.title{text-align:center;font-size:20px;font-weight:700;margin:0 0 6px}
.who{display:flex;align-items:center;gap:10px;background:#f7f9fa;border:1px solid #e4e4ed;border-radius:8px;padding:10px 14px;margin:20px 0}
.avatar{width:32px;height:32px;border-radius:50%;background:#e8efff;color:#0b5cff;font-weight:700;display:flex;align-items:center;justify-content:center;flex:none}
.who .grow{flex:1;min-width:0;overflow:hidden;text-overflow:ellipsis}
.badge{display:inline-block;font-size:11px;font-weight:700;border-radius:10px;padding:1px 8px;background:#e8efff;color:#0b5cff;vertical-align:middle}
.badge.basic{background:#f1f4f6;color:#6e7680}
.badge.live{background:#e6f7ed;color:#1a7f45}
.badge.ended{background:#f1f4f6;color:#6e7680}
.scopes{list-style:none;margin:8px 0 20px;padding:0;border-top:1px solid #eef0f3}
.scopes li{padding:8px 0 8px 30px;border-bottom:1px solid #eef0f3;position:relative}
.scopes li:before{content:"";position:absolute;left:4px;top:12px;width:14px;height:8px;border-left:2px solid #0b5cff;border-bottom:2px solid #0b5cff;transform:rotate(-45deg)}
.scopes code{display:block;font-size:11px;color:#8a9199}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.legal{font-size:12px;color:#6e7680;margin:0 0 24px}
.actions{display:flex;gap:12px;justify-content:flex-end}
.btn{appearance:none;border:1px solid transparent;border-radius:8px;padding:10px 22px;font-size:14px;font-weight:700;cursor:pointer;font-family:inherit;line-height:1.2}
.btn.primary{background:#0b5cff;color:#fff}.btn.primary:hover{background:#0a4fdd}
.btn.secondary{background:#fff;color:#232333;border-color:#d0d4d9}.btn.secondary:hover{background:#f7f9fa}
.btn.danger{background:#fff;color:#d8232a;border-color:#f3c4c6}.btn.danger:hover{background:#fff5f5}
.btn.small{padding:6px 12px;font-size:12px;border-radius:6px}
.btn.block{width:100%;padding:12px}
.linkbtn{background:none;border:0;color:#0b5cff;cursor:pointer;font:inherit;padding:0;white-space:nowrap}
.linkbtn.small{font-size:12px}
label{display:block;font-weight:700;font-size:13px;margin:16px 0 6px}
input[type=email],input[type=text],input[type=number],input[type=datetime-local]{width:100%;border:1px solid #d0d4d9;border-radius:8px;
  padding:10px 12px;font-size:14px;font-family:inherit;color:#232333;background:#fff}
input:focus{outline:none;border-color:#0b5cff;box-shadow:0 0 0 3px rgba(11,92,255,.15)}
.plans{display:grid;grid-template-columns:1fr 1fr;gap:10px}
.plan{border:1px solid #d0d4d9;border-radius:8px;padding:10px 12px;display:flex;gap:8px;align-items:flex-start;cursor:pointer;font-weight:400;margin:0}
.plan strong{display:block;font-size:13px}.plan span{font-size:12px;color:#6e7680}
.plan input{margin-top:3px}
.note{font-size:12px;color:#6e7680;margin-top:6px}
.error{border-left:4px solid #d8232a}
.notice{background:#e8efff;border:1px solid #c9dafe;color:#0b3fa8;border-radius:8px;padding:10px 14px;margin-bottom:20px}
.grid{display:grid;grid-template-columns:280px 1fr;gap:24px;align-items:start}
.profile .avatar{width:64px;height:64px;font-size:24px;margin-bottom:12px}
.kv{margin:16px 0 0;font-size:13px}.kv dt{color:#6e7680;margin-top:10px}.kv dd{margin:0;word-break:break-all}
table{width:100%;border-collapse:collapse}
th{text-align:left;font-size:12px;color:#6e7680;font-weight:700;text-transform:uppercase;letter-spacing:.04em;padding:8px 10px;border-bottom:1px solid #e4e4ed}
td{padding:12px 10px;border-bottom:1px solid #eef0f3;vertical-align:top}
.mt{font-weight:700}.mid{font-size:12px;color:#6e7680}
.rowactions{display:flex;gap:6px;flex-wrap:wrap;justify-content:flex-end}
details summary{cursor:pointer;color:#0b5cff;font-size:12px;font-weight:700;list-style:none;margin-top:6px}
details summary::-webkit-details-marker{display:none}
.editform{display:grid;grid-template-columns:2fr 1.4fr .8fr auto;gap:8px;align-items:end;margin-top:8px}
.editform label{margin:0 0 4px;font-size:11px;color:#6e7680}
.editform input{padding:7px 9px;font-size:13px}
.section{margin-bottom:24px}
.empty{color:#6e7680;padding:24px 0;text-align:center}
.status{text-align:center}
.icon{width:56px;height:56px;border-radius:50%;margin:0 auto 16px;display:flex;align-items:center;justify-content:center;
  font-size:30px;font-weight:800;color:#fff;position:relative}
.icon.err{background:#d8232a}.icon.warn{background:#f5a623}.icon.ok{background:#1a7f45}
.icon.ok:after{content:"";width:22px;height:11px;border-left:4px solid #fff;border-bottom:4px solid #fff;transform:rotate(-45deg);margin-top:-6px}
footer{text-align:center;color:#9aa0a6;font-size:12px;padding:8px 0 32px}
"#;

pub(crate) fn page(title: &str, right: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><style>{CSS}</style></head>
<body><header class="top"><a class="logo" href="/">zoom</a><span class="sim">Simulator</span><div class="right">{right}</div></header>
<main>{body}</main>
<footer>Zoom simulator for development and tests &middot; not affiliated with Zoom Video Communications</footer>
</body></html>"#,
        title = esc(title),
    )
}

pub(crate) fn initials(first: &str, last: &str) -> String {
    let f = first
        .chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default();
    let l = last
        .chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default();
    esc(&format!("{f}{l}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_everything_dangerous() {
        assert_eq!(
            super::esc(r#"<a href="x" onclick='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}
