'use strict';
// "Done" on the popup page that shows a new application's client secret:
// hand the application to the form that opened the popup (what Django's
// admin/js/popup_response.js does on load), only once the secret was seen.
{
    const done = document.getElementById('bearer-auth-popup-done');
    done.addEventListener('click', (event) => {
        const opener = window.opener;
        if (opener && typeof opener.dismissAddRelatedObjectPopup === 'function') {
            event.preventDefault();
            const data = JSON.parse(done.dataset.popupResponse);
            // data.optgroup: Django 6.1's answer has it; earlier ones ignore it.
            opener.dismissAddRelatedObjectPopup(window, data.value, data.obj, data.optgroup);
        }
    });
}
