'use strict';
module.exports = {
  up: async (queryInterface) => {
    await queryInterface.renameColumn('Users', 'username', 'handle');
  },
  down: async (queryInterface) => {
    await queryInterface.renameColumn('Users', 'handle', 'username');
  }
};
