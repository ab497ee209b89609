/* The self-checks on each chapter page: answers are checked here, in the reader's browser, with no kernel and no
 * network. The page (built by book/_ext/quiz.py) holds, per question, labelled radio inputs, one hidden explanation
 * per choice and a live feedback region; choosing an answer shows its verdict and its explanation there. */
(function () {
  "use strict";

  function setUp(quiz) {
    var questions = Array.prototype.slice.call(quiz.querySelectorAll(".quiz-question"));
    var score = quiz.querySelector(".quiz-score");
    var firstTry = {};  // question id -> true/false: was the first answer right?

    function updateScore() {
      var answered = Object.keys(firstTry);
      var right = answered.filter(function (id) { return firstTry[id]; }).length;
      if (!score || answered.length === 0) return;
      score.textContent = answered.length === questions.length
        ? "You answered " + right + " of " + questions.length + " right on the first try."
        : answered.length + " of " + questions.length + " answered.";
    }

    questions.forEach(function (question) {
      var feedback = question.querySelector(".quiz-feedback");
      question.classList.add("quiz-ready");
      question.addEventListener("change", function (event) {
        var input = event.target;
        if (!input || input.type !== "radio") return;
        var right = input.getAttribute("data-correct") === "true";
        var why = question.querySelector('.quiz-why[data-for="' + input.id + '"]');

        Array.prototype.forEach.call(question.querySelectorAll(".quiz-choice"), function (choice) {
          choice.classList.remove("quiz-chosen-right", "quiz-chosen-wrong");
        });
        input.parentNode.classList.add(right ? "quiz-chosen-right" : "quiz-chosen-wrong");
        question.classList.toggle("quiz-right", right);
        question.classList.toggle("quiz-wrong", !right);

        var verdict = document.createElement("p");
        verdict.className = "quiz-verdict";
        verdict.textContent = right ? "Correct." : "Not quite. Try another answer.";
        feedback.textContent = "";
        feedback.appendChild(verdict);
        if (why) {
          var explanation = document.createElement("div");
          explanation.className = "quiz-explanation";
          explanation.innerHTML = why.innerHTML;
          feedback.appendChild(explanation);
        }
        feedback.className = "quiz-feedback " + (right ? "quiz-feedback-right" : "quiz-feedback-wrong");

        var id = question.getAttribute("data-question");
        if (!(id in firstTry)) firstTry[id] = right;
        updateScore();
      });
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll(".quiz"), setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
