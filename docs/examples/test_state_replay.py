"""Recipe: capture a state once and replay it on another fake."""

import json


def test_capture_and_replay(logscale_server, logscale_server_factory, tmp_path):
    member = logscale_server.member()
    session = logscale_server.login(member, city="Oslo", country="Norway")
    logscale_server.clock.advance(hours=3)
    path = tmp_path / "scenario.json"
    logscale_server.dump_state(path)

    with logscale_server_factory() as replay:
        replay.load_state(path)

        assert replay.clock.now == logscale_server.clock.now
        assert json.loads(path.read_text()) == replay.dump_state()
        # the token of the captured login works on the replay too
        answer = replay.execute("{ currentUser { username } }", token=session.token)
        assert answer["data"]["currentUser"]["username"] == member.username
