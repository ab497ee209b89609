"""The served home: the account a grading worker holds, served to a learner's kernel over a socket.

Under the grader, the mock account (moto, the gatehouse, the badge endpoints) lives in the grading worker, not in
the learner's kernel. The worker serves it on a Unix socket in the submission's own folder and names that socket
in ``GATED_COMMUNITY_ACCOUNT`` for the kernel; the notebook's own ``sandbox.start()`` then connects to it instead of
starting an account of its own. Whatever the kernel does to its own botocore, gatehouse or checks changes nothing
the grader reads: the verdict is taken in the worker, on the worker's account.

What crosses the socket, one length-prefixed JSON frame each way:

* an HTTP request botocore would have sent (``kind: http``): an AWS API call (to ``*.amazonaws.com``) goes through
  the sandbox's front door, so the gatehouse judges it as the caller's own credentials say, exactly as in process.
  moto's own ``/moto-api`` (reset, state dump, recorder) and every other address are refused;
* a request to AWS's link-local credential addresses (``kind: metadata``): in the kernel, botocore's providers and
  a learner's own ``urllib`` or ``requests`` code reach 169.254.169.254 and 169.254.170.2 through the in-process
  endpoints (``grader.aws.endpoints``), exactly as in a learner's own Jupyter; only the answering is the worker's.
  Each request carries the place its code runs at (an instance, a task: ``grader.credentials.Place``), and the
  worker's metadata service answers it from there;
* what the ECS agent on an instance does for the learner (``kind: agent``): the environment and place it gives a
  task's containers, and the agent's own calls (register, start a task, report...), run by the worker's agent.

Nothing else is offered: no reset, no clock, no look at moto's state.

Three modules: ``wire`` (the frames and what crosses them), ``server`` (the worker's side, serving the account it
holds) and ``client`` (the kernel's side: ``ServedAccount``, the account's served home).
"""

from grader.served.wire import MAX_CONNECTIONS, MAX_FRAME, VARIABLE, AccountRefused

__all__ = ["VARIABLE", "MAX_FRAME", "MAX_CONNECTIONS", "AccountRefused"]
