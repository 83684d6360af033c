"""`b24mirror demo` tells the whole story with no portal and no config."""
import subprocess
import sys


def test_demo_shows_mirrored_comments_and_keeps_out_the_rest(tmp_path):
    result = subprocess.run([sys.executable, "-m", "b24mirror", "demo"], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Чертежи согласованы с заказчиком" in out
    assert "Supplier confirmed delivery" in out
    assert "Status: In progress → Completed" in out
    assert "Deadline:" in out
    assert "margin" not in out and "#internal" not in out.split("Kept out")[0]
    assert "my opinion anyway" not in out
    assert "hidden by rule" in out and "not a group member" in out
    assert list(tmp_path.iterdir()) == []  # nothing left behind in the working folder
