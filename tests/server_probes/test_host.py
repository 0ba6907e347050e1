"""Host metrics against psutil's own readings taken here."""

from __future__ import annotations

import os
import time

import psutil
import pytest

from server_probes.host import HostSampler, open_fds


def test_host_metrics_match_psutil():
    sampler = HostSampler()
    assert sampler.sample() is None  # the first call only primes the counters
    time.sleep(0.2)
    metrics = sampler.sample()
    assert metrics is not None
    assert metrics.interval_s == pytest.approx(0.2, abs=0.5)
    assert sum(v for k, v in metrics.cpu_percent.items() if k not in {"guest", "guest_nice"}) == pytest.approx(
        100, abs=1
    )
    assert set(metrics.cpu_percent) == set(psutil.cpu_times()._fields)
    memory = psutil.virtual_memory()
    assert metrics.memory.total == memory.total
    assert metrics.memory.available == pytest.approx(memory.available, rel=0.1)
    assert metrics.swap.total == psutil.swap_memory().total
    assert metrics.load == pytest.approx(list(os.getloadavg()), abs=1.0)
    assert metrics.processes == pytest.approx(len(psutil.pids()), rel=0.2, abs=20)
    assert metrics.uptime_s == pytest.approx(time.time() - psutil.boot_time(), abs=5)
    root = next(d for d in metrics.disks if d.mount == "/")
    assert root.total == psutil.disk_usage("/").total
    assert {n.interface for n in metrics.net} == set(psutil.net_io_counters(pernic=True))
    assert all(n.bytes_recv_per_s >= 0 for n in metrics.net)
    fds, max_fds = open_fds()
    assert metrics.open_fds == pytest.approx(fds, rel=0.2, abs=200)
    assert metrics.max_fds == max_fds


def test_counters_become_rates(tmp_path):
    sampler = HostSampler()
    sampler.sample()
    with (tmp_path / "blob").open("wb") as f:  # some disk writes between the two readings
        f.write(os.urandom(1 << 20))
        f.flush()
        os.fsync(f.fileno())
    time.sleep(0.1)
    metrics = sampler.sample()
    assert metrics is not None
    assert all(d.write_bytes_per_s >= 0 and d.reads_per_s >= 0 for d in metrics.disk_io)
    assert any(d.write_bytes_per_s > 0 for d in metrics.disk_io) or not metrics.disk_io


def test_open_fds_reads_file_nr(tmp_path):
    (tmp_path / "file-nr").write_text("1536\t0\t9223372036854775807\n")
    assert open_fds(tmp_path / "file-nr") == (1536, 9223372036854775807)


def test_disk_io_leaves_out_block_devices_that_are_not_disks():
    from server_probes.host import VIRTUAL_DISK

    kept = [
        name for name in ("sda", "sda1", "nvme0n1", "vda", "xvdb", "mmcblk0", "md0") if not VIRTUAL_DISK.match(name)
    ]
    left_out = [
        name for name in ("loop0", "loop12", "ram0", "zram0", "dm-0", "nbd3", "sr0") if VIRTUAL_DISK.match(name)
    ]
    assert (len(kept), len(left_out)) == (7, 7)
