"""`admin-app email preview` and `admin-app email send-test`, run as separate processes."""

from __future__ import annotations

from tests.cli.test_cli import admin_app, assert_one_line_error, env  # noqa: F401  (fixture)


def test_preview_lists_and_renders_emails(env):  # noqa: F811
    listed = admin_app("email", "preview", env=env)
    assert listed.returncode == 0 and "password_reset" in listed.stdout.split()
    text = admin_app("email", "preview", "password_reset", env=env)
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("Subject: Reset your Store Admin password\n")
    assert "https://admin.example.com/admin/password-reset/EXAMPLE-TOKEN" in text.stdout
    html = admin_app("email", "preview", "order_shipped", "--html", env=env)
    assert html.returncode == 0 and "Burr grinder &lt;Pro&gt;" in html.stdout
    assert_one_line_error(admin_app("email", "preview", "nope", env=env), "no email called 'nope'")


def test_send_test_goes_through_the_outbox_to_the_server(env, smtp, database_url):  # noqa: F811
    mail = {**env, "EMAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port)}
    result = admin_app("email", "send-test", "ops@example.com", env=mail)
    assert result.returncode == 0, result.stderr
    assert "test message sent to ops@example.com" in result.stdout
    (message,) = smtp.wait_for(1)
    assert message.rcpt_tos == ["ops@example.com"]
    assert message.subject == "Test message from Store Admin"

    smtp.stop()
    down = admin_app("email", "send-test", "ops@example.com", env=mail)
    assert_one_line_error(down, "not accepted", "cannot connect", "stays in the outbox as pending")
    assert_one_line_error(admin_app("email", "send-test", "nobody", env=mail), "not an email")


def test_bad_email_settings_are_one_line_errors(env):  # noqa: F811
    for name, value, fragment in [
        ("SMTP_TLS", "ssl", "SMTP_TLS"),
        ("EMAIL_BACKEND", "sendmail", "EMAIL_BACKEND"),
        ("EMAIL_FROM", "nobody", "EMAIL_FROM"),
        ("PUBLIC_URL", "admin.example.com", "PUBLIC_URL"),
        ("EMAIL_LEASE", "0", "EMAIL_LEASE"),
    ]:
        assert_one_line_error(admin_app("worker", "--once", env={**env, name: value}), fragment)
